package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrNoSalt is returned (wrapped in an Error) when a contract hashes a field and no salt is
// configured in Options.HashSalt or the environment variable MESHGATE_HASH_SALT.
var ErrNoSalt = errors.New("no salt for hashing: set MESHGATE_HASH_SALT")

// Error is one problem in a contract, policy or fixture file.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	// Snippet is the offending source line followed by a line with a caret under Col
	// (empty when the position or the source is unknown).
	Snippet string
}

// Error renders "file:line:col: msg", then the snippet lines if there are any.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(posString(Pos{File: e.File, Line: e.Line, Col: e.Col}))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Snippet != "" {
		b.WriteByte('\n')
		b.WriteString(e.Snippet)
	}
	return b.String()
}

// Pos returns the error's position.
func (e *Error) Pos() Pos { return Pos{File: e.File, Line: e.Line, Col: e.Col} }

// ErrorList is every problem found by one Load, sorted by file and position.
type ErrorList []*Error

// Error renders all errors, one block per error, separated by newlines.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns l as an error, or nil when l is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Add appends an error at pos.
func (l *ErrorList) Add(pos Pos, format string, args ...any) {
	*l = append(*l, &Error{File: pos.File, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...)})
}

// sortDedup orders the list by file, line, column and message and drops exact duplicates
// (a policy rule compiled for several contracts reports its error once).
func (l ErrorList) sortDedup() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
	out := l[:0]
	for i, e := range l {
		if i > 0 {
			p := out[len(out)-1]
			if p.File == e.File && p.Line == e.Line && p.Col == e.Col && p.Msg == e.Msg {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// fillSnippets sets the snippet of every error whose file content is in src.
func (l ErrorList) fillSnippets(src map[string][]byte) {
	for _, e := range l {
		if e.Snippet != "" || e.Line <= 0 {
			continue
		}
		if data, ok := src[e.File]; ok {
			e.Snippet = snippet(data, e.Line, e.Col)
		}
	}
}

func posString(p Pos) string {
	switch {
	case p.Line <= 0:
		return p.File
	case p.Col <= 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// snippet returns source line `line` of data and a caret line pointing at rune column col.
// Tabs before the caret are kept so the caret lines up in a terminal.
func snippet(data []byte, line, col int) string {
	start := 0
	for n := 1; n < line; n++ {
		i := strings.IndexByte(string(data[start:]), '\n')
		if i < 0 {
			return ""
		}
		start += i + 1
	}
	end := len(data)
	if i := strings.IndexByte(string(data[start:]), '\n'); i >= 0 {
		end = start + i
	}
	text := strings.TrimRight(string(data[start:end]), "\r")
	var caret strings.Builder
	c := 1
	for _, r := range text {
		if c >= col {
			break
		}
		if r == '\t' {
			caret.WriteByte('\t')
		} else {
			caret.WriteByte(' ')
		}
		c++
	}
	for ; c < col; c++ {
		caret.WriteByte(' ')
	}
	caret.WriteByte('^')
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	return text + "\n" + caret.String()
}
