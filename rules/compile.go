package rules

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// rule is one compiled validation rule.
type rule struct {
	name     string
	severity Severity
	message  string
	source   string // policy name, "fields", or ""
	pos      Pos
	when     *vm.Program // nil: always applies
	check    *vm.Program
	// valuePath is the first field path the check reads; its value is reported on failure.
	valuePath []string
	// unique, when set, replaces check: the rule remembers keys across events (unique.go).
	unique *uniqueRule
}

// valueExpr is an expression producing a value. Expressions that are a plain field path
// ("customer_id", "meta.type") are read from the event directly, without the VM.
type valueExpr struct {
	prog *vm.Program
	path []string
}

func (v valueExpr) isZero() bool { return v.prog == nil && v.path == nil }

// step is one compiled enrichment step.
type step struct {
	op    string
	pos   Pos
	name  string // the step as written, for error messages: "set region"
	path  []string
	to    []string
	value *vm.Program
	norm  string
	// updateMap: a later step may read what this one writes, so the decoded event is updated
	// too (otherwise only the output patch is).
	updateMap bool
	// metaPaths are the paths of the metadata members (metadata steps).
	metaPaths [3][]string
}

// compiler turns Specs into Contracts and Policies, collecting every error.
type compiler struct {
	opts    Options
	sources map[string][]byte // file -> content, for mapping expression positions
	errs    ErrorList
}

func (cc *compiler) errorf(pos Pos, format string, args ...any) {
	cc.errs.Add(pos, format, args...)
}

// compileExpr compiles one expression. what names it in messages ("rule \"x\" check").
// scope is what expressions of one contract (or policy) compile against.
type scope struct {
	env    types.Map
	opts   []expr.Option
	tables map[string]table
}

func (sc *scope) tableNames() map[string]bool {
	m := make(map[string]bool, len(sc.tables))
	for k := range sc.tables {
		m[k] = true
	}
	return m
}

func (cc *compiler) compileExpr(e Expr, what string, sc *scope, asBool bool, inspect func(ast.Node)) *vm.Program {
	if strings.TrimSpace(e.Src) == "" {
		return nil // reported by the parser
	}
	opts := make([]expr.Option, 0, len(sc.opts)+3)
	opts = append(opts, expr.Env(sc.env), expr.MaxNodes(cc.opts.MaxNodes))
	opts = append(opts, sc.opts...)
	if asBool {
		opts = append(opts, expr.AsBool())
	} else {
		opts = append(opts, expr.AsAny())
	}
	n := len(cc.errs)
	prog, err := compileProgram(e.Src, sc.tables, func(root ast.Node) {
		cc.checkCalls(e, what, root, sc.tableNames())
		if inspect != nil {
			inspect(root)
		}
	}, opts...)
	if err != nil {
		cc.exprError(e, what, err)
		return nil
	}
	if len(cc.errs) > n {
		return nil
	}
	return prog
}

// exprError maps an expr compile error to the file position of the offending character.
func (cc *compiler) exprError(e Expr, what string, err error) {
	var fe *file.Error
	if errors.As(err, &fe) {
		pos := exprPos(cc.sources[e.Pos.File], e, fe.From)
		pos.File = e.Pos.File
		msg := fe.Message
		if e.Style == StyleGenerated {
			msg += " (in derived expression `" + e.Src + "`)"
		}
		cc.errorf(pos, "%s: %s", what, msg)
		return
	}
	cc.errorf(e.Pos, "%s: %v", what, err)
}

// checkCalls validates literal arguments the type checker cannot: lookup table names, regular
// expressions and durations. Literal regexps are compiled here, once, into the shared cache.
func (cc *compiler) checkCalls(e Expr, what string, root ast.Node, tables map[string]bool) {
	walk(root, func(n ast.Node) {
		call, ok := n.(*ast.CallNode)
		if !ok {
			return
		}
		id, ok := call.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		lit := func(i int) (string, ast.Node, bool) {
			if i >= len(call.Arguments) {
				return "", nil, false
			}
			s, ok := call.Arguments[i].(*ast.StringNode)
			if !ok {
				return "", nil, false
			}
			return s.Value, s, true
		}
		at := func(n ast.Node) Pos {
			p := exprPos(cc.sources[e.Pos.File], e, n.Location().From)
			p.File = e.Pos.File
			return p
		}
		if !vocabularyNames[id.Value] {
			cc.errorf(at(call), "%s: unknown function %s", what, id.Value)
			return
		}
		switch id.Value {
		case "lookup":
			name, node, ok := lit(0)
			if !ok {
				cc.errorf(at(call), "%s: lookup needs a table name as a string literal", what)
				return
			}
			if !tables[name] {
				cc.errorf(at(node), "%s: unknown lookup table %q (declared: %s)", what, name, strings.Join(sortedKeys(tables), ", "))
			}
		case "match":
			if pat, node, ok := lit(1); ok {
				if _, err := compileRegex(pat); err != nil {
					cc.errorf(at(node), "%s: invalid regular expression: %v", what, regexErr(err))
				}
			}
		case "fresh":
			for i := 1; i <= 2; i++ {
				if d, node, ok := lit(i); ok {
					if _, err := parseDuration(d); err != nil {
						cc.errorf(at(node), "%s: %v", what, err)
					}
				}
			}
		}
	})
}

func regexErr(err error) string {
	var re *syntax.Error
	if errors.As(err, &re) {
		return string(re.Code) + ": " + strconv.Quote(re.Expr)
	}
	return err.Error()
}

// walk calls f on every node of the tree, parents first.
func walk(n ast.Node, f func(ast.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case *ast.UnaryNode:
		walk(n.Node, f)
	case *ast.BinaryNode:
		walk(n.Left, f)
		walk(n.Right, f)
	case *ast.ChainNode:
		walk(n.Node, f)
	case *ast.MemberNode:
		walk(n.Node, f)
		walk(n.Property, f)
	case *ast.SliceNode:
		walk(n.Node, f)
		walk(n.From, f)
		walk(n.To, f)
	case *ast.CallNode:
		walk(n.Callee, f)
		for _, a := range n.Arguments {
			walk(a, f)
		}
	case *ast.BuiltinNode:
		for _, a := range n.Arguments {
			walk(a, f)
		}
		walk(n.Map, f)
	case *ast.PredicateNode:
		walk(n.Node, f)
	case *ast.ConditionalNode:
		walk(n.Cond, f)
		walk(n.Exp1, f)
		walk(n.Exp2, f)
	case *ast.VariableDeclaratorNode:
		walk(n.Value, f)
		walk(n.Expr, f)
	case *ast.SequenceNode:
		for _, a := range n.Nodes {
			walk(a, f)
		}
	case *ast.ArrayNode:
		for _, a := range n.Nodes {
			walk(a, f)
		}
	case *ast.MapNode:
		for _, a := range n.Pairs {
			walk(a, f)
		}
	case *ast.PairNode:
		walk(n.Key, f)
		walk(n.Value, f)
	}
}

// fieldPath returns the field path an expression reads when it is nothing but a path
// (`a`, `a.b`, `a?.b`, `a["b"]`, `$env["a b"]`), or nil.
func fieldPath(n ast.Node) []string {
	switch n := n.(type) {
	case *ast.ChainNode:
		return fieldPath(n.Node)
	case *ast.IdentifierNode:
		if n.Value == ctxIdent || n.Value == "$env" || strings.HasPrefix(n.Value, "#") {
			return nil
		}
		return []string{n.Value}
	case *ast.MemberNode:
		if n.Method {
			return nil
		}
		return memberPath(n.Node, n.Property)
	}
	return nil
}

func memberPath(base, property ast.Node) []string {
	prop, ok := property.(*ast.StringNode)
	if !ok {
		return nil
	}
	if id, ok := base.(*ast.IdentifierNode); ok && id.Value == "$env" {
		return []string{prop.Value}
	}
	parent := fieldPath(base)
	if parent == nil {
		return nil
	}
	return append(parent, prop.Value)
}

// firstPath returns the first field path an expression reads, in reading order, or nil.
func firstPath(n ast.Node) []string {
	if p := fieldPath(n); p != nil {
		return p
	}
	switch n := n.(type) {
	case *ast.UnaryNode:
		return firstPath(n.Node)
	case *ast.BinaryNode:
		if p := firstPath(n.Left); p != nil {
			return p
		}
		return firstPath(n.Right)
	case *ast.ChainNode:
		return firstPath(n.Node)
	case *ast.MemberNode:
		return firstPath(n.Node)
	case *ast.CallNode:
		for _, a := range n.Arguments {
			if p := firstPath(a); p != nil {
				return p
			}
		}
	case *ast.BuiltinNode:
		if len(n.Arguments) > 0 {
			return firstPath(n.Arguments[0])
		}
	case *ast.ConditionalNode:
		return firstPath(n.Cond)
	}
	return nil
}

// envType builds the expr environment type of a contract from its declared fields: declared
// fields have their type, anything else is `any`.
func envType(fields []SpecField) types.Map {
	m := types.Map{types.Extra: types.Any, ctxIdent: types.Any}
	for _, f := range fields {
		m[f.Name.Value] = fieldType(&f)
	}
	return m
}

func fieldType(f *SpecField) types.Type {
	switch f.Type.Value {
	case TypeString, TypeTimestamp, TypeDate:
		return types.String
	case TypeNumber:
		return types.Float64
	case TypeInteger:
		return types.Int
	case TypeBoolean:
		return types.Bool
	case TypeObject:
		m := types.Map{types.Extra: types.Any}
		for _, sub := range f.Fields {
			m[sub.Name.Value] = fieldType(&sub)
		}
		return m
	case TypeArray:
		if f.Items != nil {
			return types.Array(fieldType(f.Items))
		}
		return types.Array(types.Any)
	}
	if len(f.Fields) > 0 {
		m := types.Map{types.Extra: types.Any}
		for _, sub := range f.Fields {
			m[sub.Name.Value] = fieldType(&sub)
		}
		return m
	}
	return types.Any
}

// compileRules compiles rules of one spec with the given environment.
func (cc *compiler) compileRules(specRules []SpecRule, source string, sc *scope) []*rule {
	out := make([]*rule, 0, len(specRules))
	for _, sr := range specRules {
		r := &rule{name: sr.Name.Value, severity: SeverityError, message: sr.Message.Value, source: source, pos: sr.Pos}
		if r.message == "" {
			r.message = "rule " + r.name + " failed"
		}
		if sr.Unique != nil {
			if !sr.When.IsZero() {
				r.when = cc.compileExpr(sr.When, fmt.Sprintf("rule %q when", r.name), sc, true, nil)
			}
			cc.compileUnique(&sr, r, sc)
			out = append(out, r)
			continue
		}
		switch sr.Severity.Value {
		case "", string(SeverityError):
		case string(SeverityWarn):
			r.severity = SeverityWarn
		default:
			cc.errorf(sr.Severity.Pos, "rule %q: severity must be %q or %q, got %q", r.name, SeverityError, SeverityWarn, sr.Severity.Value)
		}
		if !sr.When.IsZero() {
			r.when = cc.compileExpr(sr.When, fmt.Sprintf("rule %q when", r.name), sc, true, nil)
		}
		r.check = cc.compileExpr(sr.Check, fmt.Sprintf("rule %q check", r.name), sc, true, func(root ast.Node) {
			r.valuePath = firstPath(root)
		})
		out = append(out, r)
	}
	return out
}

// combine compiles one program that is true exactly when every rule passes (or is skipped by
// its guard). Judge runs it first and evaluates rules one by one only when it is not true.
func (cc *compiler) combine(specRules []SpecRule, sc *scope) *vm.Program {
	var b strings.Builder
	n := 0
	for _, r := range specRules {
		if r.Unique != nil {
			continue // remembered across events: judged on their own (unique.go)
		}
		n++
		if n > 1 {
			b.WriteString(" &&\n")
		}
		if !r.When.IsZero() {
			b.WriteString("(!(\n")
			b.WriteString(r.When.Src)
			b.WriteString("\n) || (\n")
			b.WriteString(r.Check.Src)
			b.WriteString("\n))")
		} else {
			b.WriteString("(\n")
			b.WriteString(r.Check.Src)
			b.WriteString("\n)")
		}
	}
	if n == 0 {
		return nil
	}
	opts := make([]expr.Option, 0, len(sc.opts)+3)
	opts = append(opts, expr.Env(sc.env), expr.MaxNodes(0), expr.AsBool())
	opts = append(opts, sc.opts...)
	prog, err := compileProgram(b.String(), sc.tables, nil, opts...)
	if err != nil {
		// Every rule compiled on its own; a combination that does not (an unusual construct)
		// only costs speed: Judge then evaluates the rules one by one.
		return nil
	}
	return prog
}

// compileValue compiles a value expression (partition key, event facts, set values).
func (cc *compiler) compileValue(e Expr, what string, sc *scope) valueExpr {
	if e.IsZero() {
		return valueExpr{}
	}
	var path []string
	prog := cc.compileExpr(e, what, sc, false, func(root ast.Node) { path = fieldPath(root) })
	if prog == nil {
		return valueExpr{}
	}
	return valueExpr{prog: prog, path: path}
}

// splitPath splits a dotted path and reports empty segments.
func (cc *compiler) splitPath(s Str, what string) []string {
	parts := strings.Split(s.Value, ".")
	for _, p := range parts {
		if p == "" {
			cc.errorf(s.Pos, "%s: invalid path %q", what, s.Value)
			return nil
		}
	}
	return parts
}

// compileSteps compiles the enrichment steps of a contract.
func (cc *compiler) compileSteps(spec *Spec, sc *scope, c *Contract) {
	for _, ss := range spec.Enrich {
		st := &step{op: ss.Op, pos: ss.Pos, norm: ss.Norm.Value, name: ss.Op + " " + ss.Path.Value}
		if ss.Path.Value == "" {
			continue // reported by the parser
		}
		st.path = cc.splitPath(ss.Path, ss.Op)
		switch ss.Op {
		case OpSet:
			if !ss.Value.IsZero() {
				st.value = cc.compileExpr(ss.Value, "set "+ss.Path.Value, sc, false, nil)
			}
		case OpRename:
			st.to = cc.splitPath(ss.To, "rename")
		case OpHash:
			c.hasHash = true
			c.salt = cc.opts.HashSalt
			if c.salt == "" {
				c.salt = TestSalt
			}
			if cc.opts.HashSalt == "" && !cc.opts.InsecureTestSalt {
				cc.errorf(ss.Pos, "hash %s: %v (the salt is never read from a contract)", ss.Path.Value, ErrNoSalt)
			}
		case OpMetadata:
			for i, k := range []string{"contract", "version", "processedAt"} {
				st.metaPaths[i] = append(append([]string{}, st.path...), k)
			}
		}
		c.steps = append(c.steps, st)
	}
	// A step updates the decoded event only when a later step may read what it writes: any
	// later set (its expression may read anything), or a later step whose path overlaps.
	for i, st := range c.steps {
		for _, later := range c.steps[i+1:] {
			if later.op == OpSet || overlaps(st.path, later.path) || overlaps(st.to, later.path) ||
				overlaps(st.path, later.to) || overlaps(st.to, later.to) {
				st.updateMap = true
				break
			}
		}
	}
	c.metaDomain, c.metaVersion = c.Domain, c.Version
}

// overlaps reports whether one path is a prefix of the other (both non-empty).
func overlaps(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// identRE is what expr accepts as an identifier.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var exprKeywords = map[string]bool{"true": true, "false": true, "nil": true, "not": true, "and": true,
	"or": true, "in": true, "matches": true, "contains": true, "startsWith": true, "endsWith": true,
	"let": true, "if": true, "else": true}

// accessor returns the expr text reading member name of the value base ("" for the event).
func accessor(base, name string) string {
	if identRE.MatchString(name) && !exprKeywords[name] {
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
