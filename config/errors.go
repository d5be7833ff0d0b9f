package config

import (
	"fmt"
	"strings"
)

// Error is one configuration problem. A problem in the file names file:line:col; one in
// an environment variable names the variable; one about a missing value names the file
// (or "config" when there is none) and the field.
type Error struct {
	File      string // config file; empty when the configuration came from the environment only
	Line, Col int    // position in File, when known
	Env       string // the environment variable the bad value came from, if any
	Field     string // dotted field path, e.g. "kcl.maxRecords" or "streams[0].name"
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "":
		fmt.Fprintf(&b, "env %s", e.Env)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d", e.File, e.Line, e.Col)
	case e.File != "":
		b.WriteString(e.File)
	default:
		b.WriteString("config")
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem Load found, in file order then check order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}
