package rules

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestExprPos maps a character inside an expression back to its line and column in the
// YAML file, for every scalar style.
func TestExprPos(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		at   string // the expression text up to (not including) the character to locate
		line int
		col  int
	}{
		{"plain", "check: a + b", "a + ", 1, 12},
		{"plain multi-line", "check: a &&\n  b +\n  c", "a && b + ", 3, 3},
		{"double quoted with escapes", `check: "x == \"y\" && z"`, `x == "y" && `, 1, 23},
		{"double quoted unicode escape", `check: "\u00e9 == z"`, "é == ", 1, 19},
		{"single quoted", `check: 'x == ''y'' && z'`, "x == 'y' && ", 1, 23},
		{"literal block", "check: |\n  a &&\n    b", "a &&\n  ", 3, 5},
		{"folded block", "check: >-\n  a &&\n  b", "a && ", 3, 3},
		{"literal block with comment", "check: | # note: b\n  a && b", "a && ", 2, 8},
		{"end of expression", "check: a +", "a +", 1, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			e := ExprFromNode("f.yaml", doc.Content[0].Content[1])
			off := len([]rune(tt.at))
			got := exprPos([]byte(tt.yaml), e, off)
			if got.Line != tt.line || got.Col != tt.col || got.File != "f.yaml" {
				t.Errorf("exprPos(%q, %d) = %d:%d, want %d:%d (src %q)", e.Src, off, got.Line, got.Col, tt.line, tt.col, e.Src)
			}
		})
	}
	gen := GeneratedExpr("a > 1", Pos{File: "g.yaml", Line: 4, Col: 9})
	if got := exprPos([]byte("whatever"), gen, 3); got != gen.Pos {
		t.Errorf("generated expression: %v", got)
	}
}
