package odcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the YAML nodes one document may expand to (aliases included), so an
// alias bomb costs a problem report, not the process.
const maxNodes = 200_000

// parseYAML parses exactly one YAML document. Syntax errors come back as a Problem at the
// line the YAML parser names.
func parseYAML(file string, data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Problem{File: file, Pos: Pos{1, 1}, Msg: "empty document"}
		}
		return nil, yamlSyntaxProblem(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Problem{File: file, Pos: posOf(&extra), Msg: "more than one YAML document in the file", Beyond: true}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlSyntaxProblem(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Problem{File: file, Pos: Pos{1, 1}, Msg: "empty document"}
	}
	return doc.Content[0], nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntaxProblem(file string, err error) *Problem {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Problem{File: file, Pos: Pos{line, 1}, Msg: "invalid YAML: " + m[2]}
	}
	return &Problem{File: file, Pos: Pos{1, 1}, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func posOf(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// nodes walks YAML with a node budget and collects problems.
type nodes struct {
	file   string
	probs  Problems
	budget int
}

func newNodes(file string) *nodes { return &nodes{file: file, budget: maxNodes} }

func (d *nodes) errorf(n *yaml.Node, format string, args ...any) {
	d.probs = append(d.probs, &Problem{File: d.file, Pos: posOf(n), Msg: fmt.Sprintf(format, args...)})
}

// beyondf reports a meshgate restriction the official schema does not make.
func (d *nodes) beyondf(n *yaml.Node, format string, args ...any) {
	d.probs = append(d.probs, &Problem{File: d.file, Pos: posOf(n), Msg: fmt.Sprintf(format, args...), Beyond: true})
}

// deref follows aliases and spends budget; it returns nil when the budget is gone.
func (d *nodes) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n, "document expands to more than %d YAML nodes (alias bomb?)", maxNodes)
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

// kv is one key/value pair of a mapping.
type kv struct {
	key  string
	kn   *yaml.Node
	val  *yaml.Node
	used bool
}

// pairs returns the pairs of a mapping node, reporting a non-mapping, duplicate keys,
// non-string keys and merge keys. ok is false when n is not a mapping.
func (d *nodes) pairs(n *yaml.Node, what string) (ps []*kv, ok bool) {
	if n = d.deref(n); n == nil {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, got %s", what, describe(n))
		return nil, false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return nil, false
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings, got %s", what, describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			d.beyondf(k, "%s: YAML merge keys (<<) are not supported", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		ps = append(ps, &kv{key: k.Value, kn: k, val: v})
	}
	return ps, true
}

// items returns the elements of a sequence node, reporting a non-sequence.
func (d *nodes) items(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	if n = d.deref(n); n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list, got %s", what, describe(n))
		return nil, false
	}
	return n.Content, true
}

// jsonKind is the JSON Schema type of a YAML node once converted to JSON.
func jsonKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.AliasNode:
		if n.Alias != nil {
			return jsonKind(n.Alias)
		}
		return "alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp", "!!binary":
			return "string"
		case "!!int":
			return "integer"
		case "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		case "!!null":
			return "null"
		}
		return "tag " + n.Tag
	}
	return "document"
}

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	k := jsonKind(n)
	switch k {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "null":
		return "null"
	case "string":
		return fmt.Sprintf("string %q", clip(n.Value))
	}
	return fmt.Sprintf("%s %s", k, clip(n.Value))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// str decodes a string scalar (YAML timestamps and binaries are strings in JSON).
func (d *nodes) str(n *yaml.Node, what string, dst *string) bool {
	if n = d.deref(n); n == nil {
		return false
	}
	if jsonKind(n) != "string" {
		d.errorf(n, "%s must be a string, got %s", what, describe(n))
		return false
	}
	*dst = n.Value
	return true
}

func (d *nodes) boolean(n *yaml.Node, what string, dst *bool) bool {
	if n = d.deref(n); n == nil {
		return false
	}
	if jsonKind(n) != "boolean" {
		d.errorf(n, "%s must be a boolean (true or false), got %s", what, describe(n))
		return false
	}
	if err := n.Decode(dst); err != nil {
		d.errorf(n, "%s: %v", what, err)
		return false
	}
	return true
}

// number decodes any JSON number into its canonical JSON text.
func (d *nodes) number(n *yaml.Node, what string) (json.Number, bool) {
	if n = d.deref(n); n == nil {
		return "", false
	}
	k := jsonKind(n)
	if k != "integer" && k != "number" {
		d.errorf(n, "%s must be a number, got %s", what, describe(n))
		return "", false
	}
	num, err := scalarNumber(n)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return "", false
	}
	return num, true
}

// integer decodes a JSON Schema integer: any number without a fractional part (3.0 is one).
func (d *nodes) integer(n *yaml.Node, what string) (int64, bool) {
	num, ok := d.number(n, what)
	if !ok {
		return 0, false
	}
	i, ok := integral(num)
	if !ok {
		d.errorf(n, "%s must be an integer, got %s", what, num)
		return 0, false
	}
	return i, true
}

// integral reports whether num is a whole number that fits an int64.
func integral(num json.Number) (int64, bool) {
	if i, err := num.Int64(); err == nil {
		return i, true
	}
	f, err := num.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, false
	}
	return int64(f), true
}

var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// scalarNumber converts an !!int or !!float scalar to JSON number text, keeping the
// literal when it already is valid JSON.
func scalarNumber(n *yaml.Node) (json.Number, error) {
	if jsonNumberRE.MatchString(n.Value) {
		if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return json.Number(n.Value), nil
		}
	}
	if n.ShortTag() == "!!int" {
		var i int64
		if err := n.Decode(&i); err == nil {
			return json.Number(strconv.FormatInt(i, 10)), nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return json.Number(strconv.FormatUint(u, 10)), nil
		}
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return "", fmt.Errorf("cannot read number %q", n.Value)
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("%s is not a JSON number", n.Value)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// value converts any node to its JSON value: map[string]any, []any, string, json.Number,
// bool or nil. Problems (tags JSON cannot hold, infinities) are reported.
func (d *nodes) value(n *yaml.Node) (any, bool) {
	if n = d.deref(n); n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps, ok := d.pairs(n, "value")
		if !ok {
			return nil, false
		}
		m := make(map[string]any, len(ps))
		all := true
		for _, p := range ps {
			v, ok := d.value(p.val)
			all = all && ok
			m[p.key] = v
		}
		return m, all
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		all := true
		for _, c := range n.Content {
			v, ok := d.value(c)
			all = all && ok
			s = append(s, v)
		}
		return s, all
	case yaml.ScalarNode:
		switch jsonKind(n) {
		case "string":
			return n.Value, true
		case "integer", "number":
			num, err := scalarNumber(n)
			if err != nil {
				d.errorf(n, "%v", err)
				return nil, false
			}
			return num, true
		case "boolean":
			var b bool
			d.boolean(n, "value", &b)
			return b, true
		case "null":
			return nil, true
		}
		d.errorf(n, "YAML tag %s has no JSON equivalent", n.Tag)
		return nil, false
	}
	d.errorf(n, "unexpected YAML node")
	return nil, false
}

// ToJSON converts a YAML document to the JSON value the ODCS JSON Schema validates: the
// same conversion the strict model reads, so both judge the same instance.
func ToJSON(file string, data []byte) (any, error) {
	root, p := parseYAML(file, data)
	if p != nil {
		return nil, Problems{p}
	}
	d := newNodes(file)
	v, _ := d.value(root)
	if err := d.probs.Err(); err != nil {
		return nil, err
	}
	return v, nil
}

// suggest returns ` (did you mean "x"?)` when key is close to one of allowed.
func suggest(key string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if dd := editDistance(strings.ToLower(key), strings.ToLower(a)); dd < bestD {
			best, bestD = a, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// fieldSet is the set of keys an object allows, each with the function that decodes it.
type fieldSet map[string]func(v *yaml.Node)

// object decodes a mapping with fs, reporting unknown keys; it returns the keys present
// (nil when n is not a mapping).
func (d *nodes) object(n *yaml.Node, what string, fs fieldSet) map[string]*yaml.Node {
	ps, ok := d.pairs(n, what)
	if !ok {
		return nil
	}
	present := make(map[string]*yaml.Node, len(ps))
	for _, p := range ps {
		present[p.key] = p.kn
		fn, ok := fs[p.key]
		if !ok {
			allowed := make([]string, 0, len(fs))
			for k := range fs {
				allowed = append(allowed, k)
			}
			sort.Strings(allowed)
			d.errorf(p.kn, "unknown field %q in %s%s", p.key, what, suggest(p.key, allowed))
			continue
		}
		fn(p.val)
	}
	return present
}

// require reports each required key missing from present, at the mapping's position.
func (d *nodes) require(n *yaml.Node, what string, present map[string]*yaml.Node, keys ...string) {
	if present == nil {
		return
	}
	n = d.deref(n)
	for _, k := range keys {
		if _, ok := present[k]; !ok && n != nil {
			d.errorf(n, "%s: missing required field %q", what, k)
		}
	}
}

// key returns the value node of key in mapping n, or nil (no problems reported).
func key(n *yaml.Node, k string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k && n.Content[i].Kind == yaml.ScalarNode {
			v := n.Content[i+1]
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// scalarString returns the string value of a node when it is a JSON string.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || jsonKind(n) != "string" {
		return "", false
	}
	return n.Value, true
}
