package rules

import (
	"unicode/utf8"
)

// exprPos maps a rune offset inside e.Src (where expr reports an error) to the position of that
// character in the source file data.
//
// The decoded text of a YAML scalar differs from its source: quoted scalars have quotes and
// escapes, block scalars start on the next line and lose their indentation, multi-line plain
// and folded scalars turn line breaks into spaces. Rather than re-implementing YAML scanning,
// exprPos walks the source from the scalar's start and matches the decoded text character by
// character, skipping source characters that have no counterpart (quotes, backslashes,
// indentation). Where a character cannot be matched nearby (an unusual escape) the previous
// match is kept, so the result is always a position inside or at the start of the scalar.
func exprPos(data []byte, e Expr, off int) Pos {
	if e.Style == StyleGenerated || data == nil || e.Pos.Line <= 0 {
		return e.Pos
	}
	start, ok := byteIndex(data, e.Pos.Line, e.Pos.Col)
	if !ok {
		return e.Pos
	}
	p := start
	switch e.Style {
	case StyleSingleQuoted, StyleDoubleQuoted:
		p++ // the opening quote
	case StyleLiteral, StyleFolded:
		for p < len(data) && data[p] != '\n' {
			p++
		}
		p++
	}
	if p > len(data) {
		return e.Pos
	}
	const window = 256 // bytes to look ahead for the next character
	match := p
	found := false
	i := 0
	for _, c := range e.Src {
		if i > off {
			break
		}
		for q := p; q < len(data) && q < p+window; {
			r, size := utf8.DecodeRune(data[q:])
			if r == c || (r == '\n' && (c == ' ' || c == '\n')) {
				match, found = q, true
				p = q + size
				break
			}
			q += size
		}
		i++
	}
	if !found {
		match = p
	}
	pos := posOf(data, match)
	pos.File = e.Pos.File
	if off >= utf8.RuneCountInString(e.Src) && found {
		pos.Col++ // just after the last character (e.g. "unexpected end of expression")
	}
	return pos
}

// byteIndex returns the byte offset of a 1-based line and rune column.
func byteIndex(data []byte, line, col int) (int, bool) {
	i, l := 0, 1
	for l < line {
		for i < len(data) && data[i] != '\n' {
			i++
		}
		if i >= len(data) {
			return 0, false
		}
		i++
		l++
	}
	for c := 1; c < col; c++ {
		if i >= len(data) || data[i] == '\n' {
			return i, true
		}
		_, size := utf8.DecodeRune(data[i:])
		i += size
	}
	return i, true
}

// posOf returns the 1-based line and rune column of byte offset i.
func posOf(data []byte, i int) Pos {
	if i > len(data) {
		i = len(data)
	}
	line, col := 1, 1
	for j := 0; j < i; {
		r, size := utf8.DecodeRune(data[j:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		j += size
	}
	return Pos{Line: line, Col: col}
}
