package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// source tells where a field's value came from, for error messages.
type source struct {
	line, col int    // in the file, when > 0
	env       string // the environment variable, when it came from there
}

// decoder decodes a yaml.Node tree into a Config strictly, collecting every problem
// with its position, and remembering each field's position for the semantic checks.
type decoder struct {
	file    string
	errs    ErrorList
	sources map[string]source // field path ("kcl.maxRecords", "streams[1].name") -> source
}

var durationType = reflect.TypeOf(Duration(0))

// credentialWords mark keys that look like secrets: rejected with a pointed message.
var credentialWords = []string{"secret", "accesskey", "password", "token", "credential", "sessionkey"}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		d.sources[path] = source{line: n.Line, col: n.Column}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" or "key: null" keeps the default
	}
	if v.Type() == durationType {
		d.scalar(n, path, "a duration like 10s", func(s string) error {
			dur, err := parseDuration(s)
			if err != nil {
				return err
			}
			v.SetInt(int64(dur))
			return nil
		})
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		d.scalar(n, path, "a string", func(s string) error {
			v.SetString(s)
			return nil
		})
	case reflect.Int:
		d.scalar(n, path, "an integer", func(s string) error {
			if n.Tag != "!!int" {
				return fmt.Errorf("want an integer, got %s", describe(n))
			}
			i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
			if err != nil {
				return fmt.Errorf("want an integer, got %s", describe(n))
			}
			v.SetInt(i)
			return nil
		})
	case reflect.Bool:
		d.scalar(n, path, "true or false", func(s string) error {
			if n.Tag != "!!bool" {
				return fmt.Errorf("want true or false, got %s", describe(n))
			}
			var b bool
			if err := n.Decode(&b); err != nil {
				return fmt.Errorf("want true or false, got %s", describe(n))
			}
			v.SetBool(b)
			return nil
		})
	default:
		panic(fmt.Sprintf("config: unsupported field kind %s at %s", v.Kind(), path))
	}
}

func (d *decoder) scalar(n *yaml.Node, path, want string, set func(string) error) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return
	}
	if err := set(n.Value); err != nil {
		d.errorf(n, path, "%s", err.Error())
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		what := "the configuration"
		if path != "" {
			what = path
		}
		d.errorf(n, path, "want a mapping for %s, got %s", what, describe(n))
		return
	}
	fields := fieldsByTag(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		if first, dup := seen[key.Value]; dup {
			d.errorf(key, join(path, key.Value), "duplicate key (first at line %d)", first.Line)
			continue
		}
		seen[key.Value] = key
		idx, ok := fields[key.Value]
		if !ok {
			d.unknown(key, path, v.Type())
			continue
		}
		d.decode(val, v.Field(idx), join(path, key.Value))
	}
}

func (d *decoder) unknown(key *yaml.Node, path string, t reflect.Type) {
	lower := strings.ToLower(key.Value)
	for _, w := range credentialWords {
		if strings.Contains(lower, w) {
			d.errorf(key, join(path, key.Value), "unknown field: credentials never go in the config file; "+
				"the AWS default chain supplies them (environment, profile, ECS task role, EKS IRSA)")
			return
		}
	}
	known := make([]string, 0, t.NumField())
	for name := range fieldsByTag(t) {
		known = append(known, name)
	}
	sort.Strings(known)
	d.errorf(key, join(path, key.Value), "unknown field (known: %s)", strings.Join(known, ", "))
}

func fieldsByTag(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			m[tag] = i
		}
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names a node's kind and value for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "an unexpected node"
}
