package checks

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TFModule is a parsed Terraform module directory: every *.tf file's top-level blocks.
type TFModule struct {
	Blocks []*hclsyntax.Block
	src    map[string][]byte // file name -> bytes, for expression source text
}

// ParseTerraform parses every *.tf file in dir with the HCL native-syntax parser. Any
// diagnostic (syntax error, unterminated block, ...) is an error naming file:line:col.
func ParseTerraform(dir string) (*TFModule, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	sort.Strings(files)
	p := hclparse.NewParser()
	m := &TFModule{src: map[string][]byte{}}
	var diags hcl.Diagnostics
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, d := p.ParseHCL(data, f)
		diags = append(diags, d...)
		if file == nil {
			continue
		}
		m.src[f] = data
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			return nil, fmt.Errorf("%s: not native HCL syntax", f)
		}
		m.Blocks = append(m.Blocks, body.Blocks...)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse terraform: %s", diags.Error())
	}
	return m, nil
}

// Find returns the top-level blocks of a type ("resource", "data", "variable", ...) whose
// labels start with labels.
func (m *TFModule) Find(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.Blocks {
		if b.Type != typ || len(b.Labels) < len(labels) {
			continue
		}
		match := true
		for i, l := range labels {
			if b.Labels[i] != l {
				match = false
			}
		}
		if match {
			out = append(out, b)
		}
	}
	return out
}

// One returns the single block of Find, or nil when there is not exactly one.
func (m *TFModule) One(typ string, labels ...string) *hclsyntax.Block {
	bs := m.Find(typ, labels...)
	if len(bs) != 1 {
		return nil
	}
	return bs[0]
}

// Nested returns the blocks of type typ directly inside b.
func Nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	if b == nil {
		return nil
	}
	var out []*hclsyntax.Block
	for _, nb := range b.Body.Blocks {
		if nb.Type == typ {
			out = append(out, nb)
		}
	}
	return out
}

// NestedOne returns the single nested block of type typ, or nil.
func NestedOne(b *hclsyntax.Block, typ string) *hclsyntax.Block {
	bs := Nested(b, typ)
	if len(bs) != 1 {
		return nil
	}
	return bs[0]
}

// Ref is a reference such as var.application or aws_s3_bucket.quarantine.arn.
type Ref string

// Expr is an expression the static reading does not evaluate, kept as source text.
type Expr string

// Call is a function call such as jsonencode(...).
type Call struct {
	Name string
	Args []any
}

// Cond is a conditional: Cond ? True : False.
type Cond struct {
	Cond        string
	True, False any
}

// Attr returns the static reading of attribute name of block b (see Static), and whether the
// attribute is set.
func (m *TFModule) Attr(b *hclsyntax.Block, name string) (any, bool) {
	if b == nil {
		return nil, false
	}
	a, ok := b.Body.Attributes[name]
	if !ok {
		return nil, false
	}
	return m.Static(a.Expr), true
}

// Static reads an expression without evaluating the module: literals become Go values
// (string, float64, bool, nil), lists []any, objects map[string]any, references Ref, function
// calls Call, conditionals Cond, and anything else its source text as Expr.
func (m *TFModule) Static(e hclsyntax.Expression) any {
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return ctyToGo(e.Val)
	case *hclsyntax.TemplateExpr:
		if e.IsStringLiteral() {
			v, _ := e.Value(nil)
			return ctyToGo(v)
		}
		return Expr(m.source(e.Range()))
	case *hclsyntax.ScopeTraversalExpr:
		return Ref(m.source(e.Range()))
	case *hclsyntax.RelativeTraversalExpr:
		return Ref(m.source(e.Range()))
	case *hclsyntax.TupleConsExpr:
		out := []any{}
		for _, x := range e.Exprs {
			out = append(out, m.Static(x))
		}
		return out
	case *hclsyntax.ObjectConsExpr:
		out := map[string]any{}
		for _, item := range e.Items {
			key := m.objectKey(item.KeyExpr)
			out[key] = m.Static(item.ValueExpr)
		}
		return out
	case *hclsyntax.FunctionCallExpr:
		c := Call{Name: e.Name}
		for _, a := range e.Args {
			c.Args = append(c.Args, m.Static(a))
		}
		return c
	case *hclsyntax.ConditionalExpr:
		return Cond{Cond: m.source(e.Condition.Range()), True: m.Static(e.TrueResult), False: m.Static(e.FalseResult)}
	case *hclsyntax.ParenthesesExpr:
		return m.Static(e.Expression)
	default:
		return Expr(m.source(e.Range()))
	}
}

func (m *TFModule) objectKey(k hclsyntax.Expression) string {
	if ok, isKey := k.(*hclsyntax.ObjectConsKeyExpr); isKey {
		if name := hcl.ExprAsKeyword(ok.Wrapped); name != "" && !ok.ForceNonLiteral {
			return name
		}
		k = ok.Wrapped
	}
	if s, ok := m.Static(k).(string); ok {
		return s
	}
	return m.source(k.Range())
}

func (m *TFModule) source(r hcl.Range) string {
	src := m.src[r.Filename]
	if src == nil || r.End.Byte > len(src) {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

func ctyToGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	switch v.Type() {
	case cty.String:
		return v.AsString()
	case cty.Bool:
		return v.True()
	case cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	}
	return fmt.Sprintf("%#v", v)
}

// Strings returns v as a list of strings when it is a literal list of string literals.
func Strings(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// Where names a block for messages: resource "aws_s3_bucket" "quarantine" (s3.tf:3).
func Where(b *hclsyntax.Block) string {
	if b == nil {
		return "<missing block>"
	}
	return fmt.Sprintf("%s %q (%s:%d)", b.Type, strings.Join(b.Labels, "."), filepath.Base(b.TypeRange.Filename), b.TypeRange.Start.Line)
}
