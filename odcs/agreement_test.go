package odcs

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The tests in this file hold meshgate's strict ODCS model to the official JSON Schema:
// every official example and every seed document is judged the same way by both, and so
// is a corpus of mutated documents generated from them. Whatever the official schema
// rejects, the model must reject; whatever it accepts, the model must accept unless the
// model's only objections are meshgate restrictions (Problem.Beyond).

// verdictOf reports whether the model accepts data, and whether all its problems are
// restrictions beyond the standard.
func modelVerdict(file string, data []byte) (accepted, onlyBeyond bool, err error) {
	_, err = Decode(file, data)
	if err == nil {
		return true, false, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		return false, false, err
	}
	for _, p := range ps {
		if !p.Beyond {
			return false, false, err
		}
	}
	return false, true, err
}

// agree judges one document with both and returns a description of any disagreement.
func agree(t *testing.T, name string, data []byte) (officialOK bool, disagreement string) {
	t.Helper()
	oerr := officialValidate(t, name, data)
	accepted, onlyBeyond, merr := modelVerdict(name, data)
	switch {
	case oerr != nil && accepted:
		return false, fmt.Sprintf("official schema rejects, model accepts:\n%v", oerr)
	case oerr == nil && !accepted && !onlyBeyond:
		return true, fmt.Sprintf("official schema accepts, model rejects:\n%v", merr)
	}
	return oerr == nil, ""
}

func officialExamples(t *testing.T) []string {
	dir := sharedODCS(t)
	files, err := filepath.Glob(filepath.Join(dir, "examples", "*.odcs.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no official examples in %s/examples", dir)
	}
	return files
}

// seedFiles are the documents mutated: the official examples and our own seeds, which
// cover what the examples do not (kinesis servers, every quality form, nested items,
// the legacy team list, every logicalTypeOptions key).
func seedFiles(t *testing.T) []string {
	seeds, err := filepath.Glob(filepath.Join("testdata", "seeds", "*.odcs.yaml"))
	if err != nil || len(seeds) == 0 {
		t.Fatal("no seed documents in testdata/seeds")
	}
	all := append(officialExamples(t), seeds...)
	// Smallest first: a context is mutated where it is first met, and small documents
	// are judged fastest.
	size := func(f string) int64 {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	sort.SliceStable(all, func(i, j int) bool { return size(all[i]) < size(all[j]) })
	return all
}

func TestOfficialExamplesAndSeedsAgree(t *testing.T) {
	for _, f := range seedFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ok, dis := agree(t, f, data)
			if dis != "" {
				t.Fatal(dis)
			}
			if !ok {
				t.Fatalf("seed is not valid ODCS: %v", officialValidate(t, f, data))
			}
		})
	}
}

func TestMutatedDocumentsAgree(t *testing.T) {
	type seeded struct {
		name string
		m    mutant
	}
	var all []seeded
	seen := map[string]bool{} // contexts already mutated, across all seeds
	for _, f := range seedFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		for _, m := range mutants(&root, seen) {
			all = append(all, seeded{filepath.Base(f), m})
		}
	}
	// Every kind of mutation is sampled evenly along the corpus (so across seeds and
	// contexts), up to the budget per kind; see corpusBudget.
	byKind := map[string][]int{}
	for i, s := range all {
		k := mutationKind(s.m.what)
		byKind[k] = append(byKind[k], i)
	}
	var kindNames []string
	for k := range byKind {
		kindNames = append(kindNames, k)
	}
	sort.Strings(kindNames)
	if len(kindNames) != len(mutationKinds) {
		t.Fatalf("mutation kinds %v, want %v", kindNames, mutationKinds)
	}
	var picked []int
	var summary []string
	for _, k := range kindNames {
		idx := sampleEvenly(byKind[k], corpusBudget())
		picked = append(picked, idx...)
		summary = append(summary, fmt.Sprintf("%s %d/%d", k, len(idx), len(byKind[k])))
	}
	sort.Ints(picked)

	var total, rejected, beyond int
	var failures []string
	for _, i := range picked {
		name, m := all[i].name, all[i].m
		out, err := yaml.Marshal(m.doc)
		if err != nil {
			t.Fatalf("%s: %s: marshal: %v", name, m.what, err)
		}
		total++
		ok, dis := agree(t, name, out)
		if !ok {
			rejected++
		}
		if ok {
			if acc, only, _ := modelVerdict(name, out); !acc && only {
				beyond++
			}
		}
		if dis != "" {
			failures = append(failures, fmt.Sprintf("%s, mutation %s:\n%s\n--- document:\n%s", name, m.what, dis, out))
		}
	}
	t.Logf("%d of %d mutated documents judged (%s): %d rejected by the official schema (and the model), %d accepted by it but refused by meshgate restrictions",
		total, len(all), strings.Join(summary, ", "), rejected, beyond)
	if rejected < total/3 {
		t.Errorf("only %d of %d mutants are invalid: the corpus is too weak to prove anything", rejected, total)
	}
	if len(failures) > 0 {
		sort.Strings(failures)
		n := len(failures)
		if len(failures) > 10 {
			failures = failures[:10]
		}
		t.Fatalf("%d disagreements between the model and the official schema; first ones:\n\n%s", n, strings.Join(failures, "\n\n"))
	}
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// mutationKinds are the kinds of mutation mutants makes, named by the first word of a
// mutant's description.
var mutationKinds = []string{"add", "duplicate", "empty", "remove", "repeat", "replace"}

func mutationKind(what string) string {
	k, _, _ := strings.Cut(what, " ")
	return k
}

// corpusBudget is how many mutants of each kind are judged: all of them with
// MESHGATE_ODCS_CORPUS=full (about 13,000 documents, minutes on a busy CI machine), 300
// per kind by default, 60 with -short. Judging one document means validating it with the
// official schema and loading it with the model, a few milliseconds each.
func corpusBudget() int {
	switch {
	case os.Getenv("MESHGATE_ODCS_CORPUS") == "full":
		return math.MaxInt
	case testing.Short():
		return 60
	}
	return 300
}

// sampleEvenly returns at most n of idx, spread evenly over it (its first and last
// included), in order.
func sampleEvenly(idx []int, n int) []int {
	if len(idx) <= n {
		return idx
	}
	if n == 1 {
		return idx[:1]
	}
	out := make([]int, 0, n)
	for j := range n {
		out = append(out, idx[j*(len(idx)-1)/(n-1)])
	}
	return out
}

type mutant struct {
	what string
	doc  *yaml.Node
}

// vocabulary holds every field name of the standard, each with values to insert: plausible
// ones for some field somewhere, so an insertion tests where the field is allowed and
// with which type.
var vocabulary = map[string][]string{
	"version": {"1.0.0"}, "kind": {"DataContract"}, "apiVersion": {"v3.1.0"}, "id": {"x_1"}, "name": {"n"},
	"tenant": {"t"}, "tags": {"[a]"}, "status": {"active"}, "servers": {"[]"}, "dataProduct": {"p"},
	"description": {"d", "{usage: u}"}, "domain": {"d"}, "schema": {"[]", "s"}, "support": {"[]"},
	"price": {"{priceAmount: 1}"}, "team": {"{name: t}"}, "roles": {"[]"}, "slaDefaultElement": {"e"},
	"slaProperties": {"[]"}, "authoritativeDefinitions": {"[]"}, "customProperties": {"[]"},
	"contractCreatedTs": {"'2024-01-01T00:00:00Z'"}, "usage": {"u"}, "purpose": {"p"}, "limitations": {"l"},
	"server": {"s"}, "type": {"kinesis", "library", "foreignKey", "text", "custom", "sql"}, "environment": {"prod"},
	"location": {"s3://b/k", "sftp://h/p"}, "stagingDir": {"s3://b"}, "catalog": {"c"}, "regionName": {"r"},
	"format": {"json", "i64", "f32", "yyyy-MM-dd"}, "delimiter": {"';'"}, "project": {"p"}, "dataset": {"d"},
	"host": {"h"}, "port": {"5432"}, "database": {"db"}, "account": {"a"}, "endpointUrl": {"http://e"},
	"path": {"/p"}, "region": {"eu-west-1"}, "serviceName": {"s"}, "warehouse": {"w"}, "stream": {"s"},
	"logicalType": {"string", "object", "array", "integer", "boolean", "date"}, "physicalName": {"p"},
	"dataGranularityDescription": {"g"}, "properties": {"[{name: nested, logicalType: string}]"},
	"relationships": {"[{to: a.b}]", "[{from: a.b, to: c.d}]"}, "quality": {"[{type: text, description: q}]"},
	"physicalType": {"p"}, "businessName": {"b"}, "primaryKey": {"true"}, "primaryKeyPosition": {"1"},
	"logicalTypeOptions": {"{}", "{minLength: 1}"}, "required": {"true", "[a]"}, "unique": {"true"},
	"partitioned": {"true"}, "partitionKeyPosition": {"1"}, "classification": {"c"}, "encryptedName": {"e"},
	"transformSourceObjects": {"[a]"}, "transformLogic": {"l"}, "transformDescription": {"d"},
	"examples": {"[1, a]"}, "criticalDataElement": {"true"}, "items": {"{logicalType: string}"},
	"minLength": {"1"}, "maxLength": {"1"}, "pattern": {"'^a$'"}, "exclusiveMaximum": {"5", "'2024-01-01'"},
	"maximum": {"5", "'2024-01-01'"}, "exclusiveMinimum": {"0", "'2020-01-01'"}, "minimum": {"0", "'2020-01-01'"},
	"timezone": {"true"}, "defaultTimezone": {"UTC"}, "multipleOf": {"2"}, "maxProperties": {"3"},
	"minProperties": {"1"}, "maxItems": {"3"}, "minItems": {"1"}, "uniqueItems": {"true"},
	"businessImpact": {"b"}, "dimension": {"accuracy"}, "method": {"m"}, "schedule": {"s"}, "scheduler": {"cron"},
	"severity": {"error"}, "unit": {"rows"}, "metric": {"nullValues", "rowCount"}, "rule": {"r"},
	"arguments": {"{validValues: [a]}"}, "query": {"select 1"}, "engine": {"meshgate"}, "implementation": {"x > 0", "{a: 1}"},
	"mustBe": {"0"}, "mustNotBe": {"1"}, "mustBeGreaterThan": {"0"}, "mustBeGreaterOrEqualTo": {"0"},
	"mustBeLessThan": {"10"}, "mustBeLessOrEqualTo": {"10"}, "mustBeBetween": {"[0, 10]"}, "mustNotBeBetween": {"[0, 10]"},
	"channel": {"c"}, "url": {"http://u"}, "tool": {"slack"}, "scope": {"s"}, "invitationUrl": {"http://i"},
	"priceAmount": {"1.5"}, "priceCurrency": {"EUR"}, "priceUnit": {"u"}, "members": {"[{username: u}]"},
	"username": {"u"}, "role": {"r"}, "dateIn": {"'2024-01-01'"}, "dateOut": {"'2024-01-01'"},
	"replacedByUsername": {"u"}, "access": {"read"}, "firstLevelApprovers": {"a"}, "secondLevelApprovers": {"b"},
	"property": {"p"}, "value": {"1", "[1]"}, "valueExt": {"1"}, "element": {"e"}, "driver": {"d"},
	"from": {"a.b"}, "to": {"a.b", "[a.b, c.d]"},
	"xUnknownKey": {"1"},
}

// scalarReplacements are the values a scalar is replaced with (wrong types, bad enums,
// bad identifiers, negative and fractional numbers).
var scalarReplacements = []string{"7", "-1", "1.5", "true", "null", "'x'", "bogus value", "Bad Id!", "{}", "[]", "''"}

// mutants generates the mutated documents of one seed, deterministically.
func mutants(root *yaml.Node, seen map[string]bool) []mutant {
	var out []mutant
	// Mutations are generated once per context: the path without list indices plus the
	// values that decide which fields are allowed (logicalType, type, metric). Two
	// properties of logicalType string in the same place are judged by the same rules.
	first := func(n *yaml.Node, where string) bool {
		sig := indexRE.ReplaceAllString(where, "[]")
		for _, k := range []string{"logicalType", "type", "metric"} {
			if v := key(n, k); v != nil && v.Kind == yaml.ScalarNode {
				sig += "|" + k + "=" + v.Value
			}
		}
		sig += "|" + fmt.Sprint(n.Kind)
		if seen[sig] {
			return false
		}
		seen[sig] = true
		return true
	}
	var walk func(n *yaml.Node, path []int, where string)
	walk = func(n *yaml.Node, path []int, where string) {
		if n.Kind != yaml.DocumentNode && !first(n, where) {
			// still descend: children may hold contexts not seen yet
			for i, c := range n.Content {
				if n.Kind == yaml.MappingNode && i%2 == 0 {
					continue
				}
				sub := fmt.Sprintf("%s[%d]", where, i)
				if n.Kind == yaml.MappingNode {
					sub = where + "." + n.Content[i-1].Value
				}
				walk(c, append(path[:len(path):len(path)], i), sub)
			}
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], append(path, 0), where)
			return
		case yaml.MappingNode:
			// remove each key
			for i := 0; i+1 < len(n.Content); i += 2 {
				i := i
				k := n.Content[i].Value
				out = append(out, mutate(root, path, "remove "+where+"."+k, func(m *yaml.Node) {
					m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
				}))
			}
			// insert each vocabulary key not present
			keys := make([]string, 0, len(vocabulary))
			for k := range vocabulary {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if key(n, k) != nil {
					continue
				}
				for _, v := range vocabulary[k] {
					k, v := k, v
					out = append(out, mutate(root, path, fmt.Sprintf("add %s.%s: %s", where, k, v), func(m *yaml.Node) {
						m.Content = append(m.Content, scalarKey(k), parseSnippet(v))
					}))
				}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], append(path[:len(path):len(path)], i+1), where+"."+n.Content[i].Value)
			}
			replaceWhole(root, n, path, where, &out)
		case yaml.SequenceNode:
			if len(n.Content) > 0 {
				out = append(out, mutate(root, path, "duplicate first entry of "+where, func(m *yaml.Node) {
					m.Content = append(m.Content, copyNode(m.Content[0]))
				}))
				out = append(out, mutate(root, path, "empty "+where, func(m *yaml.Node) { m.Content = nil }))
			}
			if len(n.Content) > 1 {
				out = append(out, mutate(root, path, "repeat first entry of "+where, func(m *yaml.Node) {
					m.Content[1] = copyNode(m.Content[0])
				}))
			}
			for i, c := range n.Content {
				walk(c, append(path[:len(path):len(path)], i), fmt.Sprintf("%s[%d]", where, i))
			}
			replaceWhole(root, n, path, where, &out)
		case yaml.ScalarNode:
			replaceWhole(root, n, path, where, &out)
		}
	}
	walk(root, nil, "")
	return out
}

// replaceWhole replaces the node at path with each scalar replacement of another shape.
func replaceWhole(root, n *yaml.Node, path []int, where string, out *[]mutant) {
	if len(path) <= 1 {
		return
	}
	for _, r := range scalarReplacements {
		rep := parseSnippet(r)
		if rep.Kind == n.Kind && rep.Kind != yaml.ScalarNode {
			continue
		}
		if rep.Kind == yaml.ScalarNode && n.Kind == yaml.ScalarNode && rep.Value == n.Value {
			continue
		}
		r := r
		*out = append(*out, mutate(root, path, fmt.Sprintf("replace %s with %s", where, r), func(m *yaml.Node) {
			*m = *parseSnippet(r)
		}))
	}
}

// mutate copies root and applies fn to the node at path in the copy. Lists above the
// node keep only the entry on the path, so each mutant is small and judged quickly;
// everything else (siblings in mappings, the node's own subtree) is kept.
func mutate(root *yaml.Node, path []int, what string, fn func(*yaml.Node)) mutant {
	c := copyNode(root)
	n := c
	for _, i := range path {
		if n.Kind == yaml.SequenceNode {
			n.Content = []*yaml.Node{n.Content[i]}
			i = 0
		}
		n = n.Content[i]
	}
	fn(n)
	return mutant{what: what, doc: c}
}

func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = copyNode(k)
	}
	return &c
}

func scalarKey(k string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
}

func parseSnippet(s string) *yaml.Node {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		panic(err)
	}
	if len(n.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	c := n.Content[0]
	c.Style = 0
	c.Line, c.Column = 0, 0
	return c
}
