package odcs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshgate/meshgate/rules"
	"gopkg.in/yaml.v3"
)

// Exported is a contract written as ODCS: the document, which catalogs and other ODCS tools
// read, and the binding, which carries what ODCS has no place for (partition key, envelope
// facts, lookups, enrichment, stage, rule-name prefix). Loaded together by rules.Load they
// judge every event exactly as the original contract does.
type Exported struct {
	Doc      *Document
	Document []byte
	Binding  []byte
}

// Export writes the contract spec sp (a native or an ODCS contract, as rules.Contract.Spec
// holds it) as an ODCS v3.1.0 document named base+".odcs.yaml" and its binding
// base+".meshgate.yaml", both meant for directory dir (lookup paths are made relative to
// it). Field declarations become properties with logicalType, required and
// logicalTypeOptions; enums become invalidValues quality entries; constraints ODCS cannot
// state for a type, and every rule, become quality entries of type custom with engine
// meshgate, named so that each rule keeps its name. Global policies are not part of it.
func Export(sp *rules.Spec, dir, base string) (*Exported, error) {
	if sp.Kind != rules.KindContract {
		return nil, fmt.Errorf("export %s: only domain contracts export to ODCS, not policies", sp.File)
	}
	x := &exporter{sp: sp}
	doc := x.document()
	var out bytes.Buffer
	fmt.Fprintf(&out, "# ODCS v3.1.0 data contract of domain %s, written by meshgate from %s.\n", sp.Name.Value, filepath.Base(sp.File))
	fmt.Fprintf(&out, "# Quality entries with engine: meshgate are meshgate rules (expr expressions); the\n")
	fmt.Fprintf(&out, "# binding %s%s holds what ODCS has no place for.\n", base, BindingSuffix)
	if err := encodeYAML(&out, doc); err != nil {
		return nil, fmt.Errorf("export %s: %w", sp.Name.Value, err)
	}
	// The document must read back through the strict model: a failure here is a bug.
	if _, err := Decode(base+DocumentSuffix, out.Bytes()); err != nil {
		return nil, fmt.Errorf("export %s: the written document does not read back: %w", sp.Name.Value, err)
	}
	binding, err := x.binding(dir, base)
	if err != nil {
		return nil, err
	}
	return &Exported{Doc: doc, Document: out.Bytes(), Binding: binding}, nil
}

// Encode renders a document as YAML.
func Encode(doc *Document) ([]byte, error) {
	var b bytes.Buffer
	if err := encodeYAML(&b, doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encodeYAML(w *bytes.Buffer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

type exporter struct {
	sp *rules.Spec
}

// objectName is the schema object of an exported contract: the domain when it is an
// identifier, else "event".
func (x *exporter) objectName() string {
	if identRE.MatchString(x.sp.Name.Value) {
		return x.sp.Name.Value
	}
	return "event"
}

func (x *exporter) document() *Document {
	sp := x.sp
	version := sp.Version.Value
	if version == "" {
		version = "0.0.0"
	}
	doc := &Document{APIVersion: "v3.1.0", Kind: "DataContract", ID: sp.Name.Value, Name: sp.Name.Value,
		Version: version, Status: "active", Domain: sp.Name.Value}
	if sp.Description != "" {
		doc.Description = &Description{Purpose: sp.Description}
	}
	if sp.Owner.Value != "" {
		doc.Team = &Team{Name: sp.Owner.Value}
	}
	server := func(stream, role string) *Server {
		return &Server{Server: stream, Type: "kinesis", Attrs: map[string]Any{"format": {V: "json"}},
			CustomProperties: []*CustomProperty{{Property: "meshgate.role", Value: Any{V: role}}}}
	}
	for _, s := range sp.Sources {
		doc.Servers = append(doc.Servers, server(s.Value, "source"))
	}
	if sp.Curated.Value != "" {
		doc.Servers = append(doc.Servers, server(sp.Curated.Value, "curated"))
	}
	obj := &SchemaObject{Name: x.objectName(), LogicalType: "object", PhysicalType: "kinesis-event",
		Description: "One " + sp.Name.Value + " event."}
	for i := range sp.Fields {
		f := &sp.Fields[i]
		obj.Properties = append(obj.Properties, x.property(f, accessor("", f.Name.Value), func(c string) string { return c }))
	}
	for _, r := range sp.Rules {
		// The binding's rulePrefix is prepended again when the document is read.
		name := strings.TrimPrefix(r.Name.Value, sp.FieldRulePrefix)
		if r.Unique != nil {
			obj.Quality = append(obj.Quality, x.unique(r, name))
			continue
		}
		q := &Quality{Type: "custom", Engine: Engine, Name: name, Description: r.Message.Value}
		if r.Severity.Value == string(rules.SeverityWarn) {
			q.Severity = string(rules.SeverityWarn)
		}
		if r.When.IsZero() {
			q.Implementation = &Any{V: r.Check.Src}
		} else {
			q.Implementation = &Any{V: map[string]any{"when": r.When.Src, "check": r.Check.Src}}
		}
		obj.Quality = append(obj.Quality, q)
	}
	doc.Schema = []*SchemaObject{obj}
	return doc
}

// unique exports a unique rule. A key of top-level declared fields with the default window
// and maxKeys, and no guard, is the standard duplicateValues metric on the schema object
// (arguments.properties, mustBe 0: any duplicate breaks it, which `meshgate odcs alerts`
// turns into an alert); any other is a custom meshgate entry in the native syntax
// {unique: {key, window, maxKeys}, when}. Either reads back as the same rule.
func (x *exporter) unique(r rules.SpecRule, name string) *Quality {
	u := r.Unique
	window, maxKeys := rules.DefaultUniqueWindow, rules.DefaultUniqueMaxKeys
	if u.Window.Value != "" {
		if w, err := time.ParseDuration(u.Window.Value); err == nil {
			window = w
		} else {
			window = -1 // a day count ("7d"): kept as written below
		}
	}
	if u.MaxKeys != nil {
		maxKeys = u.MaxKeys.Value
	}
	declared := map[string]bool{}
	for _, f := range x.sp.Fields {
		declared[f.Name.Value] = true
	}
	standard := r.When.IsZero() && window == DefaultWindow && maxKeys == rules.DefaultUniqueMaxKeys && len(u.Key) > 0
	var props []any
	for _, k := range u.Key {
		src := strings.TrimSpace(k.Src)
		if !identRE.MatchString(src) || exprKeywords[src] || !declared[src] {
			standard = false
			break
		}
		props = append(props, src)
	}
	if standard {
		return &Quality{Type: "library", Metric: "duplicateValues", Name: name, Description: r.Message.Value,
			Dimension: "uniqueness", Severity: string(rules.SeverityWarn),
			Arguments: map[string]Any{"properties": {V: props}}, Operator: "mustBe", Operand: Any{V: json.Number("0")}}
	}
	spec := map[string]any{}
	keys := make([]any, len(u.Key))
	for i, k := range u.Key {
		keys[i] = k.Src
	}
	if len(keys) == 1 {
		spec["key"] = keys[0]
	} else {
		spec["key"] = keys
	}
	if u.Window.Value != "" {
		spec["window"] = u.Window.Value
	}
	if u.MaxKeys != nil {
		spec["maxKeys"] = json.Number(strconv.Itoa(u.MaxKeys.Value))
	}
	impl := map[string]any{"unique": spec}
	if !r.When.IsZero() {
		impl["when"] = r.When.Src
	}
	return &Quality{Type: "custom", Engine: Engine, Name: name, Description: r.Message.Value,
		Dimension: "uniqueness", Severity: string(rules.SeverityWarn), Implementation: &Any{V: impl}}
}

var logicalTypeOf = map[string]string{rules.TypeString: "string", rules.TypeNumber: "number", rules.TypeInteger: "integer",
	rules.TypeBoolean: "boolean", rules.TypeObject: "object", rules.TypeArray: "array", rules.TypeTimestamp: "timestamp",
	rules.TypeDate: "date"}

var typePredicate = map[string]string{rules.TypeString: "is_string", rules.TypeNumber: "is_number", rules.TypeInteger: "is_int",
	rules.TypeBoolean: "is_bool", rules.TypeObject: "is_object", rules.TypeArray: "is_array", rules.TypeTimestamp: "is_timestamp",
	rules.TypeDate: "is_date"}

var formatPredicate = map[string]string{rules.FormatUUID: "is_uuid", rules.FormatEmail: "is_email", rules.FormatTimestamp: "is_timestamp",
	"date-time": "is_timestamp", "iso8601": "is_timestamp", rules.FormatDate: "is_date"}

// property exports one field. acc reads it; wrap turns a check on acc into a whole-event
// check (through the enclosing objects and arrays), for constraints ODCS cannot state for
// the field's type: those become custom quality entries named after the facet, so the
// re-imported rule has the field rule's name and check.
func (x *exporter) property(f *rules.SpecField, acc string, wrap func(string) string) *Property {
	p := &Property{Name: f.Name.Value, Required: f.Required}
	custom := func(facet, check, msg string) {
		p.Quality = append(p.Quality, &Quality{Type: "custom", Engine: Engine, Name: facet, Description: msg,
			Implementation: &Any{V: wrap(check)}})
	}
	label := x.sp.FieldRulePrefix + f.Name.Value
	// ODCS nests properties only under objects and items only under arrays (or under
	// untyped properties): another type with nested fields is exported untyped, its type
	// rule a custom entry.
	lt := logicalTypeOf[f.Type.Value]
	if lt != "" && (len(f.Fields) > 0 && lt != "object" || f.Items != nil && lt != "array" || len(f.Fields) > 0 && f.Items != nil) {
		custom("type", fmt.Sprintf("%s == nil || %s(%s)", acc, typePredicate[f.Type.Value], acc), label+" must be of type "+f.Type.Value)
		lt = ""
	}
	p.LogicalType = lt
	o := &LogicalTypeOptions{}
	number := func(v float64) *Any {
		return &Any{V: json.Number(strconv.FormatFloat(v, 'g', -1, 64))}
	}
	if f.Format.Value != "" {
		if lt == "string" {
			o.Format = f.Format.Value
		} else if fn, ok := formatPredicate[f.Format.Value]; ok {
			custom("format", fmt.Sprintf("%s == nil || !is_string(%s) || %s(%s)", acc, acc, fn, acc), label+" must be a valid "+f.Format.Value)
		}
	}
	if f.Pattern.Value != "" {
		if lt == "string" {
			o.Pattern = f.Pattern.Value
		} else {
			custom("pattern", fmt.Sprintf("%s == nil || !is_string(%s) || match(%s, %s)", acc, acc, acc, strconv.Quote(f.Pattern.Value)), label+" must match "+f.Pattern.Value)
		}
	}
	bound := func(b *rules.Bound, incl, excl **Any, inclFacet, exclFacet, inclOp, exclOp string) {
		if b == nil {
			return
		}
		facet, op := inclFacet, inclOp
		if b.Exclusive {
			facet, op = exclFacet, exclOp
		}
		if lt == "number" || lt == "integer" {
			if b.Exclusive {
				*excl = number(b.Value)
			} else {
				*incl = number(b.Value)
			}
			return
		}
		v := strconv.FormatFloat(b.Value, 'g', -1, 64)
		custom(facet, fmt.Sprintf("%s == nil || !is_number(%s) || %s %s %s", acc, acc, acc, op, v), fmt.Sprintf("%s must be %s %s", label, op, v))
	}
	bound(f.Minimum, &o.Minimum, &o.ExclusiveMinimum, "minimum", "exclusiveMinimum", ">=", ">")
	bound(f.Maximum, &o.Maximum, &o.ExclusiveMaximum, "maximum", "exclusiveMaximum", "<=", "<")
	length := func(fc *rules.IntFacet, native bool, dst **int64, facet, pred, op string) {
		if fc == nil {
			return
		}
		if native {
			v := int64(fc.Value)
			*dst = &v
			return
		}
		custom(facet, fmt.Sprintf("%s == nil || !%s(%s) || length(%s) %s %d", acc, pred, acc, acc, op, fc.Value),
			fmt.Sprintf("%s must have a length %s %d", label, op, fc.Value))
	}
	length(f.MinLength, lt == "string", &o.MinLength, "minLength", "is_string", ">=")
	length(f.MaxLength, lt == "string", &o.MaxLength, "maxLength", "is_string", "<=")
	length(f.MinItems, lt == "array", &o.MinItems, "minItems", "is_array", ">=")
	length(f.MaxItems, lt == "array", &o.MaxItems, "maxItems", "is_array", "<=")
	if f.UniqueItems {
		if lt == "array" {
			t := true
			o.UniqueItems = &t
		} else {
			custom("uniqueItems", fmt.Sprintf("%s == nil || !is_array(%s) || unique(%s)", acc, acc, acc), label+" must not repeat items")
		}
	}
	if len(f.Enum) > 0 {
		vs := make([]any, len(f.Enum))
		for i, v := range f.Enum {
			vs[i] = jsonValue(v)
		}
		p.Quality = append(p.Quality, &Quality{Type: "library", Metric: "invalidValues", Name: "enum",
			Arguments: map[string]Any{"validValues": {V: vs}}, Operator: "mustBe", Operand: Any{V: json.Number("0")}})
	}
	if !o.empty() {
		p.LogicalTypeOptions = o
	}
	if len(f.Fields) > 0 {
		inner := func(c string) string { return wrap(fmt.Sprintf("%s == nil || !is_object(%s) || (%s)", acc, acc, c)) }
		for i := range f.Fields {
			sub := &f.Fields[i]
			p.Properties = append(p.Properties, x.property(sub, accessor(acc, sub.Name.Value), inner))
		}
	}
	if f.Items != nil {
		elem := func(c string) string {
			return wrap(fmt.Sprintf("%s == nil || !is_array(%s) || all(%s, %s)", acc, acc, acc, c))
		}
		p.Items = x.property(f.Items, "#", elem)
		p.Items.Name = ""
	}
	return p
}

// jsonValue turns a value decoded from native YAML into a JSON value.
func jsonValue(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return v
}

// binding renders what ODCS has no place for, in the binding file's syntax.
func (x *exporter) binding(dir, base string) ([]byte, error) {
	sp := x.sp
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
	}
	s := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	m := func(kv ...string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i+1 < len(kv); i += 2 {
			n.Content = append(n.Content, s(kv[i]), s(kv[i+1]))
		}
		return n
	}
	add("odcs", s(base+DocumentSuffix))
	add("object", s(x.objectName()))
	add("rulePrefix", s(sp.FieldRulePrefix))
	if sp.Stage.Value != "" {
		add("stage", s(sp.Stage.Value))
	}
	if !sp.PartitionKey.IsZero() {
		add("partitionKey", s(sp.PartitionKey.Src))
	}
	ev := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range []struct {
		k string
		v rules.Expr
	}{{"type", sp.Event.Type}, {"schemaVersion", sp.Event.SchemaVersion}, {"time", sp.Event.Time}} {
		if !e.v.IsZero() {
			ev.Content = append(ev.Content, s(e.k), s(e.v.Src))
		}
	}
	if len(ev.Content) > 0 {
		add("event", ev)
	}
	if len(sp.Lookups) > 0 {
		ls := &yaml.Node{Kind: yaml.MappingNode}
		for _, l := range sp.Lookups {
			file := l.File.Value
			if !filepath.IsAbs(file) {
				abs, err := filepath.Abs(filepath.Join(filepath.Dir(sp.File), file))
				if err != nil {
					return nil, err
				}
				file = abs
				if d, err := filepath.Abs(dir); err == nil {
					if rel, err := filepath.Rel(d, abs); err == nil {
						file = filepath.ToSlash(rel)
					}
				}
			}
			kv := []string{"file", file}
			if l.Key.Value != "" {
				kv = append(kv, "key", l.Key.Value)
			}
			if l.Value.Value != "" {
				kv = append(kv, "value", l.Value.Value)
			}
			ls.Content = append(ls.Content, s(l.Name.Value), m(kv...))
		}
		add("lookups", ls)
	}
	if len(sp.Enrich) > 0 {
		steps := &yaml.Node{Kind: yaml.SequenceNode}
		for _, st := range sp.Enrich {
			var n *yaml.Node
			switch st.Op {
			case rules.OpSet:
				n = m("set", st.Path.Value, "value", st.Value.Src)
			case rules.OpRename:
				n = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{s("rename"), m("from", st.Path.Value, "to", st.To.Value)}}
			case rules.OpNormalize:
				n = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{s("normalize"), m("field", st.Path.Value, "op", st.Norm.Value)}}
			default:
				n = m(st.Op, st.Path.Value)
			}
			steps.Content = append(steps.Content, n)
		}
		add("enrich", steps)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# meshgate binding of %s%s (domain %s): streams come from its kinesis servers.\n", base, DocumentSuffix, sp.Name.Value)
	if err := encodeYAML(&out, root); err != nil {
		return nil, err
	}
	if _, err := DecodeBinding(base+BindingSuffix, out.Bytes()); err != nil {
		return nil, fmt.Errorf("export %s: the written binding does not read back: %w", sp.Name.Value, err)
	}
	return out.Bytes(), nil
}

// ExportFiles names the files Export's output is meant for.
func ExportFiles(dir, base string) (document, binding string) {
	return filepath.Join(dir, base+DocumentSuffix), filepath.Join(dir, base+BindingSuffix)
}

func (o *LogicalTypeOptions) empty() bool {
	return o.MinLength == nil && o.MaxLength == nil && o.Pattern == "" && o.Format == "" && o.Minimum == nil &&
		o.ExclusiveMinimum == nil && o.Maximum == nil && o.ExclusiveMaximum == nil && o.MultipleOf == nil &&
		o.Timezone == nil && o.DefaultTimezone == "" && o.MinProperties == nil && o.MaxProperties == nil &&
		len(o.Required) == 0 && o.MinItems == nil && o.MaxItems == nil && o.UniqueItems == nil
}
