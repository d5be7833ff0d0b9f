package odcs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshgate/meshgate/rules"
	"gopkg.in/yaml.v3"
)

// BindingSuffix and DocumentSuffix name the two files of an ODCS contract: the team's
// document (payments.odcs.yaml) and, beside it, meshgate's binding (payments.meshgate.yaml).
const (
	DocumentSuffix = ".odcs.yaml"
	BindingSuffix  = ".meshgate.yaml"
)

// DefaultWindow is the window of aggregate quality alerts when the binding names none.
const DefaultWindow = time.Hour

// Binding is what meshgate needs beyond the ODCS document to run it on a stream: which
// raw streams it judges, where good events go, the partition key, how to read envelope
// facts and how to enrich. Every field is optional; see docs/odcs.md for the defaults taken
// from the document (domain, version, kinesis servers, a partitioned property).
type Binding struct {
	File string
	// ODCS is the document's path relative to the binding (default: <base>.odcs.yaml).
	ODCS rules.Str
	// Domain, Version, Owner override the document's domain, version and team.
	Domain  rules.Str
	Version rules.Str
	Owner   rules.Str
	// Object names the schema object that describes the event (default: the only one).
	Object rules.Str
	// RulePrefix is prepended to every derived rule name (default: "<object>.").
	RulePrefix    rules.Str
	HasRulePrefix bool
	Stage         rules.Str
	Sources       []rules.Str
	Curated       rules.Str
	PartitionKey  rules.Expr
	Event         rules.SpecEvent
	Lookups       []rules.SpecLookup
	Enrich        []rules.SpecStep
	// Window is the window of aggregate quality alerts and of the uniqueness rules derived
	// from duplicateValues, unique and primaryKey (default DefaultWindow).
	Window    time.Duration
	WindowPos rules.Pos
	// MaxKeys bounds the keys each uniqueness rule remembers (default
	// rules.DefaultUniqueMaxKeys); MaxKeysPos is where it was written.
	MaxKeys    int
	MaxKeysPos rules.Pos
}

var bindingKeys = []string{"odcs", "domain", "version", "owner", "object", "rulePrefix", "stage",
	"sources", "curated", "partitionKey", "event", "lookups", "enrich", "window", "maxKeys"}

// DecodeBinding reads a binding file strictly (unknown keys are errors).
func DecodeBinding(file string, data []byte) (*Binding, error) {
	root, p := parseYAML(file, data)
	if p != nil {
		return nil, Problems{p}
	}
	d := newNodes(file)
	b := d.binding(root)
	if err := d.probs.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

func (d *nodes) rpos(n *yaml.Node) rules.Pos {
	return rules.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *nodes) rstr(n *yaml.Node, what string) rules.Str {
	var s string
	if d.str(n, what, &s) && s == "" {
		d.beyondf(n, "%s must not be empty", what)
	}
	if n = d.deref(n); n == nil {
		return rules.Str{}
	}
	return rules.Str{Value: s, Pos: d.rpos(n)}
}

func (d *nodes) rexpr(n *yaml.Node, what string) rules.Expr {
	var s string
	if !d.str(n, what, &s) {
		return rules.Expr{}
	}
	if strings.TrimSpace(s) == "" {
		d.beyondf(n, "%s must not be empty", what)
	}
	return rules.ExprFromNode(d.file, d.deref(n))
}

func (d *nodes) binding(n *yaml.Node) *Binding {
	b := &Binding{File: d.file}
	fs := fieldSet{
		"odcs":    func(v *yaml.Node) { b.ODCS = d.rstr(v, "odcs") },
		"domain":  func(v *yaml.Node) { b.Domain = d.rstr(v, "domain") },
		"version": func(v *yaml.Node) { b.Version = d.rstr(v, "version") },
		"owner":   func(v *yaml.Node) { b.Owner = d.rstr(v, "owner") },
		"object":  func(v *yaml.Node) { b.Object = d.rstr(v, "object") },
		"rulePrefix": func(v *yaml.Node) {
			var s string
			if d.str(v, "rulePrefix", &s) {
				b.RulePrefix = rules.Str{Value: s, Pos: d.rpos(v)}
				b.HasRulePrefix = true
			}
		},
		"stage": func(v *yaml.Node) {
			b.Stage = d.rstr(v, "stage")
			if st := b.Stage.Value; st != "" && st != rules.StageActive && st != rules.StageShadow {
				d.beyondf(v, "stage must be %q or %q, got %q", rules.StageActive, rules.StageShadow, st)
			}
		},
		"sources": func(v *yaml.Node) {
			its, _ := d.items(v, "sources")
			for _, it := range its {
				b.Sources = append(b.Sources, d.rstr(it, "source stream"))
			}
		},
		"curated":      func(v *yaml.Node) { b.Curated = d.rstr(v, "curated") },
		"partitionKey": func(v *yaml.Node) { b.PartitionKey = d.rexpr(v, "partitionKey") },
		"event": func(v *yaml.Node) {
			d.object(v, "event", fieldSet{
				"type":          func(v *yaml.Node) { b.Event.Type = d.rexpr(v, "event.type") },
				"schemaVersion": func(v *yaml.Node) { b.Event.SchemaVersion = d.rexpr(v, "event.schemaVersion") },
				"time":          func(v *yaml.Node) { b.Event.Time = d.rexpr(v, "event.time") },
			})
		},
		"lookups": func(v *yaml.Node) { b.Lookups = d.lookups(v) },
		"enrich":  func(v *yaml.Node) { b.Enrich = d.steps(v) },
		"window": func(v *yaml.Node) {
			var s string
			if !d.str(v, "window", &s) {
				return
			}
			w, err := time.ParseDuration(s)
			if err != nil || w <= 0 {
				d.beyondf(v, "window must be a positive duration like 1h or 15m, got %q", s)
				return
			}
			b.Window, b.WindowPos = w, d.rpos(d.deref(v))
		},
		"maxKeys": func(v *yaml.Node) {
			n, ok := d.integer(v, "maxKeys")
			if !ok {
				return
			}
			if n < 1 || n > rules.MaxUniqueMaxKeys {
				d.beyondf(v, "maxKeys must be between 1 and %d, got %d", rules.MaxUniqueMaxKeys, n)
				return
			}
			b.MaxKeys, b.MaxKeysPos = int(n), d.rpos(d.deref(v))
		},
	}
	ps, ok := d.pairs(n, "binding")
	if !ok {
		return b
	}
	for _, p := range ps {
		fn, ok := fs[p.key]
		if !ok {
			d.beyondf(p.kn, "unknown field %q in binding%s", p.key, suggest(p.key, bindingKeys))
			continue
		}
		fn(p.val)
	}
	return b
}

func (d *nodes) lookups(n *yaml.Node) []rules.SpecLookup {
	ps, ok := d.pairs(n, "lookups")
	if !ok {
		return nil
	}
	var out []rules.SpecLookup
	for _, p := range ps {
		l := rules.SpecLookup{Name: rules.Str{Value: p.key, Pos: d.rpos(p.kn)}}
		present := d.object(p.val, "lookup "+p.key, fieldSet{
			"file":  func(v *yaml.Node) { l.File = d.rstr(v, "file") },
			"key":   func(v *yaml.Node) { l.Key = d.rstr(v, "key") },
			"value": func(v *yaml.Node) { l.Value = d.rstr(v, "value") },
		})
		d.require(p.val, "lookup "+p.key, present, "file")
		out = append(out, l)
	}
	return out
}

var stepOps = []string{rules.OpSet, rules.OpRename, rules.OpDrop, rules.OpRedact, rules.OpHash, rules.OpNormalize, rules.OpMetadata}

// steps reads enrichment steps in the native contract syntax.
func (d *nodes) steps(n *yaml.Node) []rules.SpecStep {
	its, ok := d.items(n, "enrich")
	if !ok {
		return nil
	}
	var out []rules.SpecStep
	for _, it := range its {
		ps, ok := d.pairs(it, "enrich step")
		if !ok {
			continue
		}
		st := rules.SpecStep{Pos: d.rpos(d.deref(it))}
		var value *yaml.Node
		for _, p := range ps {
			switch p.key {
			case "value":
				value = p.val
				continue
			case rules.OpSet, rules.OpDrop, rules.OpRedact, rules.OpHash, rules.OpMetadata:
				st.Path = d.rstr(p.val, p.key)
			case rules.OpRename:
				present := d.object(p.val, "rename", fieldSet{
					"from": func(v *yaml.Node) { st.Path = d.rstr(v, "rename.from") },
					"to":   func(v *yaml.Node) { st.To = d.rstr(v, "rename.to") },
				})
				d.require(p.val, "rename", present, "from", "to")
			case rules.OpNormalize:
				present := d.object(p.val, "normalize", fieldSet{
					"field": func(v *yaml.Node) { st.Path = d.rstr(v, "normalize.field") },
					"op": func(v *yaml.Node) {
						st.Norm = d.rstr(v, "normalize.op")
						if op := st.Norm.Value; op != "" && op != "trim" && op != "lower" && op != "upper" {
							d.beyondf(v, "normalize op must be trim, lower or upper, got %q", op)
						}
					},
				})
				d.require(p.val, "normalize", present, "field", "op")
			default:
				d.beyondf(p.kn, "unknown field %q in enrich step (operations: %s)%s", p.key, strings.Join(stepOps, ", "), suggest(p.key, stepOps))
				continue
			}
			if st.Op != "" {
				d.beyondf(p.kn, "an enrich step has exactly one operation, found %q after %q", p.key, st.Op)
				continue
			}
			st.Op = p.key
		}
		switch {
		case st.Op == "":
			d.beyondf(it, "enrich step needs one of: %s", strings.Join(stepOps, ", "))
		case st.Op == rules.OpSet && value == nil:
			d.beyondf(it, "set needs a value expression")
		case st.Op != rules.OpSet && value != nil:
			d.beyondf(value, "value is only allowed with set")
		}
		if st.Op == rules.OpSet && value != nil {
			st.Value = d.rexpr(value, "value")
		}
		out = append(out, st)
	}
	return out
}

// bindingFor returns the binding file that belongs to document path doc (same directory,
// same base name), or "" when there is none.
func bindingFor(doc string) string {
	if !strings.HasSuffix(doc, DocumentSuffix) {
		return ""
	}
	b := strings.TrimSuffix(doc, DocumentSuffix) + BindingSuffix
	if _, err := os.Stat(b); err == nil {
		return b
	}
	return ""
}

// documentFor returns the path of the document a binding names: its odcs: key relative to
// the binding's directory, or the sibling <base>.odcs.yaml.
func documentFor(b *Binding) (string, error) {
	if b.ODCS.Value != "" {
		if filepath.IsAbs(b.ODCS.Value) {
			return b.ODCS.Value, nil
		}
		return filepath.Join(filepath.Dir(b.File), b.ODCS.Value), nil
	}
	if !strings.HasSuffix(b.File, BindingSuffix) {
		return "", fmt.Errorf("binding %s does not end in %s; name the document with odcs:", b.File, BindingSuffix)
	}
	return strings.TrimSuffix(b.File, BindingSuffix) + DocumentSuffix, nil
}
