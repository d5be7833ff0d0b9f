package odcs

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a 1-based line and column in a source file; the zero Pos means "unknown".
type Pos struct {
	Line int `yaml:"-" json:"-"`
	Col  int `yaml:"-" json:"-"`
}

// Problem is one thing wrong with a document or binding file, at a position.
type Problem struct {
	File string
	Pos
	Msg string
	// Beyond is true when the problem is a meshgate restriction the official ODCS JSON
	// Schema does not make (for example a pattern RE2 cannot compile, or an unknown key in
	// an object the standard leaves open). Every other problem is one the official schema
	// reports as well; the package tests hold the model to that.
	Beyond bool
}

func (p *Problem) Error() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Problems is every problem found in one load, sorted by file and position.
type Problems []*Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// Err returns ps as an error, or nil when there is no problem.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sort()
	return ps
}

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
