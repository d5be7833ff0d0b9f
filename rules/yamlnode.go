package rules

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ynode is a strict reader over a yaml.v3 node tree: every problem becomes an Error with the
// node's position, and decoding goes on so that one pass reports everything.
type ynode struct {
	file string
	errs ErrorList
}

func (d *ynode) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *ynode) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.Add(d.pos(n), format, args...)
}

// parseDoc parses data as exactly one YAML document and returns its root node.
func (d *ynode) parseDoc(data []byte) *yaml.Node {
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			d.errs.Add(Pos{File: d.file, Line: 1, Col: 1}, "empty file")
			return nil
		}
		d.errs.Add(yamlErrPos(d.file, err), "%s", yamlErrMsg(err))
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "a file holds exactly one YAML document")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	d.errs.Add(Pos{File: d.file, Line: 1, Col: 1}, "empty file")
	return nil
}

// yamlErrPos extracts "line N" from a yaml.v3 syntax error (which has no column).
func yamlErrPos(file string, err error) Pos {
	msg := err.Error()
	p := Pos{File: file, Line: 1, Col: 1}
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil && n > 0 {
			p.Line = n
		}
	}
	return p
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// "line 3: did not find expected key" -> "did not find expected key"
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
	}
	return "invalid YAML: " + msg
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unsupported node"
}

// fields walks a mapping, calls set for each known key and reports unknown and duplicate keys.
// It returns the keys seen. what names the mapping in messages ("rule", "contract").
func (d *ynode) fields(n *yaml.Node, what string, known []string, set func(key string, k, v *yaml.Node)) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", what, kindName(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s keys must be strings", what)
			continue
		}
		if prev, dup := seen[key]; dup {
			d.errorf(k, "duplicate key %q in %s (first at line %d)", key, what, prev.Line)
			continue
		}
		seen[key] = k
		if !contains(known, key) {
			d.errorf(k, "unknown key %q in %s (known: %s)", key, what, strings.Join(known, ", "))
			continue
		}
		set(key, k, v)
	}
	return seen
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// require reports the keys of want missing from seen, at the mapping node n.
func (d *ynode) require(n *yaml.Node, what string, seen map[string]*yaml.Node, want ...string) {
	if seen == nil {
		return
	}
	for _, k := range want {
		if _, ok := seen[k]; !ok {
			d.errorf(n, "%s: missing required key %q", what, k)
		}
	}
}

func (d *ynode) scalar(n *yaml.Node, key string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a string, got %s", key, kindName(n))
		return false
	}
	return true
}

func (d *ynode) str(n *yaml.Node, key string) Str {
	if !d.scalar(n, key) {
		return Str{Pos: d.pos(n)}
	}
	return Str{Value: n.Value, Pos: d.pos(n)}
}

// nonEmpty is str that also rejects "".
func (d *ynode) nonEmpty(n *yaml.Node, key string) Str {
	s := d.str(n, key)
	if s.Value == "" && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		d.errorf(n, "%s must not be empty", key)
	}
	return s
}

func (d *ynode) expr(n *yaml.Node, key string) Expr {
	if !d.scalar(n, key) {
		return Expr{Pos: d.pos(n)}
	}
	if strings.TrimSpace(n.Value) == "" {
		d.errorf(n, "%s must not be empty", key)
	}
	return ExprFromNode(d.file, n)
}

// strList accepts a list of strings or a single string.
func (d *ynode) strList(n *yaml.Node, key string) []Str {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []Str{d.nonEmpty(n, key)}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list of strings, got %s", key, kindName(n))
		return nil
	}
	out := make([]Str, 0, len(n.Content))
	for _, c := range n.Content {
		c = deref(c)
		out = append(out, d.nonEmpty(c, key+" entry"))
	}
	return out
}

func (d *ynode) boolean(n *yaml.Node, key string) bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	}
	d.errorf(n, "%s must be true or false", key)
	return false
}

func (d *ynode) integer(n *yaml.Node, key string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		var i int
		if err := n.Decode(&i); err == nil && i >= 0 {
			return i, true
		}
	}
	d.errorf(n, "%s must be a non-negative integer", key)
	return 0, false
}

func (d *ynode) number(n *yaml.Node, key string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, true
		}
	}
	d.errorf(n, "%s must be a number", key)
	return 0, false
}

// value decodes a scalar or a tree into JSON-compatible Go values (for enum lists and fixture
// expectations): int for integers that fit, float64, string, bool, nil, []any, map[string]any.
func (d *ynode) value(n *yaml.Node) any {
	n = deref(n)
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			return b
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return int(i)
			}
			var f float64
			_ = n.Decode(&f)
			return f
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.errorf(n, "%q is not a JSON number", n.Value)
				return nil
			}
			return f
		}
		return n.Value
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, d.value(c))
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = d.value(n.Content[i+1])
		}
		return out
	}
	d.errorf(n, "unsupported YAML node")
	return nil
}

// sortedKeys is a helper for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonFromNode renders a YAML node as JSON text, keeping mapping order and the literal text
// of numbers (so fixtures can hold values like 9007199254740993 or 0.1 exactly).
func (d *ynode) jsonFromNode(b []byte, n *yaml.Node) []byte {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		b = append(b, '{')
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Tag == "!!merge" {
				d.errorf(k, "merge keys (<<) are not supported in events; use event: *anchor with with: and without:")
				continue
			}
			if seen[k.Value] {
				d.errorf(k, "duplicate key %q in event (use raw: to test duplicate keys)", k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k.Value)
			b = append(b, ':')
			b = d.jsonFromNode(b, n.Content[i+1])
		}
		return append(b, '}')
	case yaml.SequenceNode:
		b = append(b, '[')
		for i, c := range n.Content {
			if i > 0 {
				b = append(b, ',')
			}
			b = d.jsonFromNode(b, c)
		}
		return append(b, ']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return append(b, "null"...)
		case "!!bool":
			if d.value(n).(bool) {
				return append(b, "true"...)
			}
			return append(b, "false"...)
		case "!!int", "!!float":
			if isJSONNumber(n.Value) {
				return append(b, n.Value...)
			}
			switch v := d.value(n).(type) {
			case int:
				return strconv.AppendInt(b, int64(v), 10)
			case float64:
				return strconv.AppendFloat(b, v, 'g', -1, 64)
			}
			return append(b, "null"...)
		}
		return appendJSONString(b, n.Value)
	}
	d.errorf(n, "unsupported YAML node")
	return append(b, "null"...)
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

// appendJSONString appends s as a JSON string (no HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
