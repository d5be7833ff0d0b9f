package odcs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meshgate/meshgate/rules"
)

// Contract is an ODCS document bound to meshgate: the rules.Spec the engine runs, and the
// quality entries judged over a window instead of per event.
type Contract struct {
	Doc *Document
	// Binding is nil when the document stands alone.
	Binding *Binding
	// Object is the schema object that describes the event.
	Object *SchemaObject
	Spec   *rules.Spec
	// Aggregates are the quality entries judged over a window (alerts), not per event.
	Aggregates []Aggregate
}

// Aggregate is a quality entry whose threshold is about many events: a percentage, a
// tolerated count, a row count. It never decides where an event goes; it becomes an alert
// over a window of the worker's metrics (see Alerts).
type Aggregate struct {
	// Name is the entry's name after its place, e.g. "payment.status.invalidValues".
	Name string
	Pos  rules.Pos
	// Metric is the ODCS library metric: nullValues, missingValues, invalidValues or rowCount.
	Metric string
	// Rule is the per-event rule (severity warn) whose failures are counted, "" for rowCount.
	Rule string
	// Operator and Operand are the entry's threshold (mustBeLessThan 5, ...).
	Operator string
	Operand  Any
	// Percent is true when the threshold is a percentage of the events in the window.
	Percent     bool
	Window      time.Duration
	Severity    rules.Severity
	Description string
}

// Build maps a document (and its binding, nil when there is none) to the source-neutral
// contract model. Problems are reported with positions in the document or the binding;
// constructs meshgate does not enforce on the stream become Spec.Notes, never silence.
func Build(doc *Document, b *Binding) (*Contract, error) {
	m := &mapper{doc: doc, b: b, taken: map[string]bool{}}
	if b == nil {
		m.b = &Binding{}
	}
	c := m.build()
	if err := m.probs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

type mapper struct {
	doc   *Document
	b     *Binding
	spec  *rules.Spec
	probs Problems
	aggs  []Aggregate
	// extra rules: derived here (not from field facets) and custom meshgate rules
	extra   []rules.SpecRule
	taken   map[string]bool
	obj     *SchemaObject
	prefix  string
	window  time.Duration
	maxKeys int
}

func (m *mapper) pos(p Pos) rules.Pos { return rules.Pos{File: m.doc.File, Line: p.Line, Col: p.Col} }

func (m *mapper) errorf(p rules.Pos, format string, args ...any) {
	m.probs = append(m.probs, &Problem{File: p.File, Pos: Pos{p.Line, p.Col}, Msg: fmt.Sprintf(format, args...), Beyond: true})
}

func (m *mapper) note(p rules.Pos, format string, args ...any) {
	m.spec.Notes = append(m.spec.Notes, rules.Note{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// pick returns the binding's value when set, else the document's.
func pick(bound rules.Str, docValue string, docPos rules.Pos) rules.Str {
	if bound.Value != "" {
		return bound
	}
	return rules.Str{Value: docValue, Pos: docPos}
}

func (m *mapper) build() *Contract {
	doc, b := m.doc, m.b
	docPos := m.pos(doc.Pos)
	m.spec = &rules.Spec{File: doc.File, Format: "odcs", Kind: rules.KindContract, Pos: docPos}
	s := m.spec
	c := &Contract{Doc: doc, Binding: b, Spec: s}
	if b.File == "" {
		c.Binding = nil
	}

	at := func(k string) rules.Pos {
		if p, ok := doc.At[k]; ok {
			return m.pos(p)
		}
		return docPos
	}
	s.Name = pick(b.Domain, doc.Domain, at("domain"))
	if s.Name.Value == "" {
		m.errorf(docPos, "ODCS document %s names no domain: add domain: to the document or a binding file %s beside it",
			doc.ID, strings.TrimSuffix(baseName(doc.File), DocumentSuffix)+BindingSuffix)
	}
	s.Version = pick(b.Version, doc.Version, at("version"))
	owner := ""
	if doc.Team != nil {
		owner = doc.Team.Name
		if owner == "" && len(doc.Team.Members) > 0 {
			owner = doc.Team.Members[0].Username
		}
	}
	s.Owner = pick(b.Owner, owner, at("team"))
	switch {
	case doc.Description != nil && doc.Description.Purpose != "":
		s.Description = doc.Description.Purpose
	case doc.Name != "":
		s.Description = doc.Name
	}
	s.Stage = b.Stage
	s.PartitionKey = b.PartitionKey
	s.Event = b.Event
	s.Lookups = m.lookups()
	s.Enrich = b.Enrich
	m.window = b.Window
	if m.window == 0 {
		m.window = DefaultWindow
	}
	m.maxKeys = b.MaxKeys
	if m.maxKeys == 0 {
		m.maxKeys = rules.DefaultUniqueMaxKeys
	}
	m.streams()

	obj := m.object()
	if obj == nil {
		return c
	}
	c.Object = obj
	m.obj = obj
	m.prefix = obj.Name + "."
	if b.HasRulePrefix {
		m.prefix = b.RulePrefix.Value
	}
	s.FieldRulePrefix = m.prefix
	if !identRE.MatchString(obj.Name) {
		// names still work; only a note, since rule names are labels
		m.note(m.pos(obj.Pos), "schema object name %q is used in rule names; a plain identifier reads better in metrics", obj.Name)
	}
	for _, o := range doc.Schema {
		if o != obj {
			m.note(m.pos(o.Pos), "schema object %q is not the event (%q is): its properties and quality are not enforced", o.Name, obj.Name)
		}
	}
	m.reserveFieldNames(obj)

	for _, p := range obj.Properties {
		f, rs := m.property(p, m.prefix+p.Key(), accessor("", p.Key()))
		s.Fields = append(s.Fields, f)
		m.extra = append(m.extra, rs...)
	}
	m.primaryKey(obj)
	if b.PartitionKey.IsZero() {
		m.partitionKey(obj)
	}
	m.extra = append(m.extra, m.qualities(obj.Quality, m.prefix, "")...)
	if len(obj.Relationships) > 0 {
		m.note(m.pos(obj.Pos), "schema-level relationships of %q are not enforced on the stream (they relate datasets, not single events)", obj.Name)
	}
	s.Rules = m.extra
	c.Aggregates = m.aggs
	return c
}

// lookups returns the binding's lookup tables with their files relative to the document,
// which is what the engine resolves them against (the binding names them relative to
// itself, and may live in another directory than the document).
func (m *mapper) lookups() []rules.SpecLookup {
	out := make([]rules.SpecLookup, 0, len(m.b.Lookups))
	for _, l := range m.b.Lookups {
		if f := l.File.Value; f != "" && !filepath.IsAbs(f) && m.b.File != "" {
			abs := filepath.Join(filepath.Dir(m.b.File), f)
			if rel, err := filepath.Rel(filepath.Dir(m.doc.File), abs); err == nil {
				l.File.Value = rel
			} else {
				l.File.Value = abs
			}
		}
		out = append(out, l)
	}
	return out
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// streams fills sources and curated from the binding, else from kinesis servers: a server
// with custom property meshgate.role source or curated, or the only kinesis server as the
// source. A server's stream is its custom property stream, else its server name.
func (m *mapper) streams() {
	s, b := m.spec, m.b
	s.Sources = b.Sources
	s.Curated = b.Curated
	var kinesis []*Server
	for _, sv := range m.doc.Servers {
		if sv.Type == "kinesis" {
			kinesis = append(kinesis, sv)
		}
	}
	role := func(sv *Server) string {
		for _, cp := range sv.CustomProperties {
			if cp.Property == "meshgate.role" {
				r, _ := cp.Value.V.(string)
				return r
			}
		}
		return ""
	}
	stream := func(sv *Server) rules.Str {
		for _, cp := range sv.CustomProperties {
			if cp.Property == "stream" {
				if v, ok := cp.Value.V.(string); ok && v != "" {
					return rules.Str{Value: v, Pos: m.pos(cp.Pos)}
				}
			}
		}
		return rules.Str{Value: sv.Server, Pos: m.pos(sv.Pos)}
	}
	var src []rules.Str
	var cur []rules.Str
	for _, sv := range kinesis {
		switch r := role(sv); r {
		case "source":
			src = append(src, stream(sv))
		case "curated":
			cur = append(cur, stream(sv))
		case "":
			if len(kinesis) == 1 {
				src = append(src, stream(sv))
			} else {
				m.note(m.pos(sv.Pos), "kinesis server %q has no custom property meshgate.role (source or curated): ignored", sv.Server)
			}
		default:
			m.errorf(m.pos(sv.Pos), "kinesis server %q: meshgate.role must be source or curated, got %q", sv.Server, r)
		}
	}
	if len(s.Sources) == 0 {
		s.Sources = src
	}
	if s.Curated.Value == "" {
		switch len(cur) {
		case 0:
		case 1:
			s.Curated = cur[0]
		default:
			m.errorf(cur[1].Pos, "more than one kinesis server has meshgate.role curated; a contract feeds one curated stream")
		}
	}
}

// object picks the schema object that describes the event.
func (m *mapper) object() *SchemaObject {
	schema := m.doc.Schema
	if want := m.b.Object; want.Value != "" {
		for _, o := range schema {
			if o.Name == want.Value {
				return o
			}
		}
		m.errorf(want.Pos, "the document has no schema object %q (it has: %s)", want.Value, objectNames(schema))
		return nil
	}
	switch len(schema) {
	case 0:
		m.errorf(m.pos(m.doc.Pos), "the document has no schema object to judge events with")
		return nil
	case 1:
		return schema[0]
	}
	m.errorf(m.pos(m.doc.Pos), "the document has %d schema objects (%s): name the one that describes the event with object: in the binding file",
		len(schema), objectNames(schema))
	return nil
}

func objectNames(os []*SchemaObject) string {
	names := make([]string, len(os))
	for i, o := range os {
		names[i] = o.Name
	}
	return strings.Join(names, ", ")
}

// partitionKey takes the partition key from the one top-level property marked partitioned.
func (m *mapper) partitionKey(obj *SchemaObject) {
	var parts []*Property
	for _, p := range obj.Properties {
		if p.Partitioned {
			parts = append(parts, p)
		}
	}
	switch len(parts) {
	case 0:
	case 1:
		m.spec.PartitionKey = rules.GeneratedExpr(accessor("", parts[0].Key()), m.pos(parts[0].At["partitioned"]))
	default:
		m.note(m.pos(parts[1].At["partitioned"]), "several properties are partitioned: the output keeps the source partition key (set partitionKey in the binding)")
	}
}

// primaryKey maps the properties marked primaryKey (top level, ordered by
// primaryKeyPosition, then as written) to one unique rule on their combined values: named
// <object>.<property>.primaryKey for one property, <object>.primaryKey for a composite key.
// primaryKey on a nested property is reported, not enforced.
func (m *mapper) primaryKey(obj *SchemaObject) {
	var keys []*Property
	for _, p := range obj.Properties {
		if p.PrimaryKey {
			keys = append(keys, p)
		}
	}
	var nested func(ps []*Property, path string)
	nested = func(ps []*Property, path string) {
		for _, p := range ps {
			if p.PrimaryKey && path != "" {
				m.note(m.pos(p.At["primaryKey"]), "%s%s: primaryKey on a nested property is not enforced on the stream (a primary key is made of top-level properties)", path, p.Key())
			}
			nested(p.Properties, path+p.Key()+".")
			for it, n := p.Items, path+p.Key()+"[]."; it != nil; it, n = it.Items, n[:len(n)-1]+"[]." {
				nested(it.Properties, n)
			}
		}
	}
	for _, p := range obj.Properties {
		nested(p.Properties, m.prefix+p.Key()+".")
		for it, n := p.Items, m.prefix+p.Key()+"[]."; it != nil; it, n = it.Items, n[:len(n)-1]+"[]." {
			nested(it.Properties, n)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortStableFunc(keys, func(a, b *Property) int {
		pa, pb := int64(math.MaxInt64), int64(math.MaxInt64)
		if a.PrimaryKeyPosition != nil {
			pa = *a.PrimaryKeyPosition
		}
		if b.PrimaryKeyPosition != nil {
			pb = *b.PrimaryKeyPosition
		}
		return cmp.Compare(pa, pb)
	})
	accs := make([]string, len(keys))
	names := make([]string, len(keys))
	for i, p := range keys {
		accs[i] = accessor("", p.Key())
		names[i] = p.Key()
	}
	name := m.prefix + "primaryKey"
	if len(keys) == 1 {
		name = m.prefix + keys[0].Key() + ".primaryKey"
	}
	name = m.name(name, false)
	pos := m.pos(keys[0].At["primaryKey"])
	m.extra = append(m.extra, m.uniqueRule(name, pos, accs, ""))
	what := m.prefix + names[0] + ": primaryKey"
	if len(names) > 1 {
		what = strings.TrimSuffix(m.prefix, ".") + ": primaryKey (" + strings.Join(names, ", ") + ")"
	}
	m.uniqueNote(pos, what, name)
}

// uniqueRule is a unique rule on the values of accs (expressions), with the binding's
// window and maxKeys. An empty msg leaves the engine's default message.
func (m *mapper) uniqueRule(name string, pos rules.Pos, accs []string, msg string) rules.SpecRule {
	u := &rules.SpecUnique{Pos: pos, Window: rules.Str{Value: m.window.String(), Pos: pos},
		MaxKeys: &rules.IntFacet{Value: m.maxKeys, Pos: pos}}
	if !m.b.WindowPos.IsZero() {
		u.Window.Pos = m.b.WindowPos
	}
	if !m.b.MaxKeysPos.IsZero() {
		u.MaxKeys.Pos = m.b.MaxKeysPos
	}
	for _, a := range accs {
		u.Key = append(u.Key, rules.GeneratedExpr(a, pos))
	}
	return rules.SpecRule{Name: rules.Str{Value: name, Pos: pos}, Unique: u,
		Severity: rules.Str{Value: string(rules.SeverityWarn), Pos: pos}, Message: rules.Str{Value: msg, Pos: pos}, Pos: pos}
}

// uniqueNote tells lint how a uniqueness construct is enforced.
func (m *mapper) uniqueNote(pos rules.Pos, what, rule string) {
	m.note(pos, "%s is enforced as warnings: an event whose key another record had within the %s window (as seen by the judging worker) fails rule %s and still goes to the curated stream; routing never depends on other events",
		what, rules.ShortDuration(m.window), rule)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var exprKeywords = map[string]bool{"true": true, "false": true, "nil": true, "not": true, "and": true,
	"or": true, "in": true, "matches": true, "contains": true, "startsWith": true, "endsWith": true,
	"let": true, "if": true, "else": true}

// accessor renders a nil-safe access to field name of base, as the rules engine does.
func accessor(base, name string) string {
	if identRE.MatchString(name) && !exprKeywords[name] {
		if base == "" {
			return name
		}
		return base + "?." + name
	}
	if base == "" {
		return "$env[" + strconv.Quote(name) + "]"
	}
	return base + "?.[" + strconv.Quote(name) + "]"
}

// reserveFieldNames records the rule names the engine will derive from field facets, so
// that quality entries named after the same place get distinct names.
func (m *mapper) reserveFieldNames(obj *SchemaObject) {
	var walk func(ps []*Property, path string)
	walk = func(ps []*Property, path string) {
		for _, p := range ps {
			name := path + p.Key()
			for _, facet := range []string{"required", "type", "format", "pattern", "minimum", "maximum",
				"exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems"} {
				m.taken[name+"."+facet] = true
			}
			walk(p.Properties, name+".")
			for it, n := p.Items, name+"[]"; it != nil; it, n = it.Items, n+"[]" {
				walk(it.Properties, n+".")
			}
		}
	}
	walk(obj.Properties, m.prefix)
}

// name returns the rule name for a quality entry: an explicit name (from the entry's name
// or id) as written, so that the engine reports a duplicate; a generated one made unique
// with _2, _3, ... when the place already has a rule of that name.
func (m *mapper) name(name string, explicit bool) string {
	out := name
	for i := 2; !explicit && m.taken[out]; i++ {
		out = fmt.Sprintf("%s_%d", name, i)
	}
	m.taken[out] = true
	return out
}

func (m *mapper) rule(name string, pos rules.Pos, check, msg string) rules.SpecRule {
	return rules.SpecRule{Name: rules.Str{Value: name, Pos: pos}, Check: rules.GeneratedExpr(check, pos),
		Message: rules.Str{Value: msg, Pos: pos}, Pos: pos}
}

func num(a *Any) (float64, string, bool) {
	if a == nil {
		return 0, "", false
	}
	n, ok := a.V.(json.Number)
	if !ok {
		return 0, "", false
	}
	f, err := n.Float64()
	if err != nil {
		return 0, "", false
	}
	return f, strconv.FormatFloat(f, 'g', -1, 64), true
}

func str(a *Any) (string, bool) {
	if a == nil {
		return "", false
	}
	s, ok := a.V.(string)
	return s, ok
}

// property maps one property to a field declaration (whose facets the engine turns into
// rules) and the rules meshgate derives itself. name is the rule-name path (with the
// prefix), acc the expression reading the value. Rules returned read the value through
// acc; the caller wraps them for array elements.
// Rules of nested properties hold while their object is absent or not an object, as the
// engine's own field rules do.
func (m *mapper) property(p *Property, name, acc string) (rules.SpecField, []rules.SpecRule) {
	at := func(k string) rules.Pos {
		if pp, ok := p.At[k]; ok {
			return m.pos(pp)
		}
		return m.pos(p.Pos)
	}
	f := rules.SpecField{Name: rules.Str{Value: p.Key(), Pos: m.pos(p.Pos)}}
	var out []rules.SpecRule
	if p.Required {
		f.Required, f.RequiredPos = true, m.pos(p.RequiredPos)
	}
	o := p.LogicalTypeOptions
	if o == nil {
		o = &LogicalTypeOptions{}
	}
	opt := func(k string) rules.Pos {
		if pp, ok := o.At[k]; ok {
			return m.pos(pp)
		}
		return at("logicalTypeOptions")
	}
	label := name
	typ := func(t string) { f.Type = rules.Str{Value: t, Pos: at("logicalType")} }
	intFacet := func(v *int64, k string) *rules.IntFacet {
		if v == nil {
			return nil
		}
		return &rules.IntFacet{Value: int(*v), Pos: opt(k)}
	}
	switch lt := p.LogicalType; lt {
	case "string":
		typ(rules.TypeString)
		f.MinLength, f.MaxLength = intFacet(o.MinLength, "minLength"), intFacet(o.MaxLength, "maxLength")
		if f.MinLength != nil && f.MaxLength != nil && f.MinLength.Value > f.MaxLength.Value {
			m.errorf(opt("minLength"), "%s: minLength %d is greater than maxLength %d: no value can pass", label, f.MinLength.Value, f.MaxLength.Value)
		}
		if o.Pattern != "" {
			if _, err := regexp.Compile(o.Pattern); err != nil {
				m.errorf(opt("pattern"), "%s: pattern %q is not a regular expression meshgate (Go RE2) can run: %v", label, o.Pattern, err)
			} else {
				f.Pattern = rules.Str{Value: o.Pattern, Pos: opt("pattern")}
			}
		}
		if o.Format != "" {
			out = append(out, m.stringFormat(&f, o.Format, name, acc, label, opt("format"))...)
		}
	case "number", "integer":
		typ(lt)
		out = append(out, m.numeric(&f, o, name, acc, label, opt)...)
	case "boolean":
		typ(rules.TypeBoolean)
	case "object":
		typ(rules.TypeObject)
	case "array":
		typ(rules.TypeArray)
		f.MinItems, f.MaxItems = intFacet(o.MinItems, "minItems"), intFacet(o.MaxItems, "maxItems")
		if o.UniqueItems != nil && *o.UniqueItems {
			f.UniqueItems, f.UniquePos = true, opt("uniqueItems")
		}
	case "date", "timestamp", "time":
		out = append(out, m.temporal(&f, lt, o, name, acc, label, at, opt)...)
	}

	// Nested properties.
	for _, c := range p.Properties {
		cf, crs := m.property(c, name+"."+c.Key(), accessor(acc, c.Key()))
		f.Fields = append(f.Fields, cf)
		for _, r := range crs {
			r.Check.Src = fmt.Sprintf("%s == nil || !is_object(%s) || (%s)", acc, acc, r.Check.Src)
			out = append(out, r)
		}
	}
	if p.LogicalType == "object" {
		for _, r := range o.Required {
			found := false
			for i := range f.Fields {
				if f.Fields[i].Name.Value == r {
					found = true
					if !f.Fields[i].Required {
						f.Fields[i].Required, f.Fields[i].RequiredPos = true, opt("required")
					}
				}
			}
			if !found {
				f.Fields = append(f.Fields, rules.SpecField{Name: rules.Str{Value: r, Pos: opt("required")}, Required: true, RequiredPos: opt("required")})
			}
		}
		if o.MinProperties != nil {
			out = append(out, m.rule(name+".minProperties", opt("minProperties"),
				fmt.Sprintf("%s == nil || !is_object(%s) || length(%s) >= %d", acc, acc, acc, *o.MinProperties),
				fmt.Sprintf("%s must have at least %d properties", label, *o.MinProperties)))
		}
		if o.MaxProperties != nil {
			out = append(out, m.rule(name+".maxProperties", opt("maxProperties"),
				fmt.Sprintf("%s == nil || !is_object(%s) || length(%s) <= %d", acc, acc, acc, *o.MaxProperties),
				fmt.Sprintf("%s must have at most %d properties", label, *o.MaxProperties)))
		}
	}
	if p.Items != nil {
		itf, irs := m.property(p.Items, name+"[]", "#")
		f.Items = &itf
		for _, r := range irs {
			r.Check.Src = fmt.Sprintf("%s == nil || !is_array(%s) || all(%s, %s)", acc, acc, acc, r.Check.Src)
			out = append(out, r)
		}
	}

	// Per-property facts that hold across events, not per event: uniqueness becomes a
	// unique rule (warn only: a repeat never changes where an event goes).
	if p.Unique {
		if strings.HasPrefix(acc, "#") {
			m.note(at("unique"), "%s: unique inside array items is not enforced on the stream (uniqueness across events needs a key of the event; use uniqueItems for uniqueness within the array)", name)
		} else {
			rn := m.name(name+".unique", false)
			m.extra = append(m.extra, m.uniqueRule(rn, at("unique"), []string{acc}, ""))
			m.uniqueNote(at("unique"), name+": unique", rn)
		}
	}
	if len(p.Relationships) > 0 {
		m.note(at("relationships"), "%s: relationships are not enforced on the stream (they relate datasets, not single events)", name)
	}
	out = append(out, m.qualities(p.Quality, name+".", acc)...)
	return f, out
}

// knownFormats are the string formats the engine checks itself.
var knownFormats = map[string]string{"uuid": rules.FormatUUID, "email": rules.FormatEmail,
	"date-time": "date-time", "iso8601": "iso8601", "timestamp": rules.FormatTimestamp, "date": rules.FormatDate}

// extraFormats are string formats meshgate checks with a pattern.
var extraFormats = map[string]string{
	"uri":      `^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$`,
	"url":      `^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*$`,
	"ipv4":     `^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$`,
	"hostname": `^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`,
	"time":     `^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$`,
}

func (m *mapper) stringFormat(f *rules.SpecField, format, name, acc, label string, pos rules.Pos) []rules.SpecRule {
	lf := strings.ToLower(format)
	if k, ok := knownFormats[lf]; ok {
		f.Format = rules.Str{Value: k, Pos: pos}
		return nil
	}
	if re, ok := extraFormats[lf]; ok {
		return []rules.SpecRule{m.rule(name+".format", pos,
			fmt.Sprintf("%s == nil || !is_string(%s) || match(%s, %s)", acc, acc, acc, strconv.Quote(re)),
			fmt.Sprintf("%s must be a valid %s", label, lf))}
	}
	m.note(pos, "%s: string format %q is not enforced (meshgate checks %s)", name, format, strings.Join(formatNames(), ", "))
	return nil
}

func formatNames() []string {
	var out []string
	for k := range knownFormats {
		out = append(out, k)
	}
	for k := range extraFormats {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var intRanges = map[string][2]string{
	"i8": {"-128", "127"}, "i16": {"-32768", "32767"}, "i32": {"-2147483648", "2147483647"},
	"u8": {"0", "255"}, "u16": {"0", "65535"}, "u32": {"0", "4294967295"},
	"u64": {"0", ""}, "u128": {"0", ""},
}

func (m *mapper) numeric(f *rules.SpecField, o *LogicalTypeOptions, name, acc, label string, opt func(string) rules.Pos) []rules.SpecRule {
	var out []rules.SpecRule
	bound := func(a *Any, k string, excl bool) *rules.Bound {
		v, _, ok := num(a)
		if !ok {
			return nil
		}
		return &rules.Bound{Value: v, Exclusive: excl, Pos: opt(k)}
	}
	// A field has one lower and one upper bound; when the document gives both forms, the
	// inclusive one is the field's and the exclusive one a rule of its own (same name as
	// the engine would give it).
	both := func(incl, excl *rules.Bound, facet, op, word string) *rules.Bound {
		if incl == nil {
			return excl
		}
		if excl != nil {
			v := strconv.FormatFloat(excl.Value, 'g', -1, 64)
			out = append(out, m.rule(name+"."+facet, excl.Pos,
				fmt.Sprintf("%s == nil || !is_number(%s) || %s %s %s", acc, acc, acc, op, v),
				fmt.Sprintf("%s must be %s %s", label, word, v)))
		}
		return incl
	}
	f.Minimum = both(bound(o.Minimum, "minimum", false), bound(o.ExclusiveMinimum, "exclusiveMinimum", true), "exclusiveMinimum", ">", "greater than")
	f.Maximum = both(bound(o.Maximum, "maximum", false), bound(o.ExclusiveMaximum, "exclusiveMaximum", true), "exclusiveMaximum", "<", "less than")
	if f.Minimum != nil && f.Maximum != nil && f.Minimum.Value > f.Maximum.Value {
		m.errorf(f.Minimum.Pos, "%s: the lower bound %g is above the upper bound %g: no value can pass", label, f.Minimum.Value, f.Maximum.Value)
	}
	if _, mv, ok := num(o.MultipleOf); ok {
		out = append(out, m.rule(name+".multipleOf", opt("multipleOf"),
			fmt.Sprintf("%s == nil || !is_number(%s) || abs(%s / %s - round(%s / %s)) <= 1e-9 * max(1.0, abs(%s / %s))", acc, acc, acc, mv, acc, mv, acc, mv),
			fmt.Sprintf("%s must be a multiple of %s", label, mv)))
	}
	if r, ok := intRanges[o.Format]; ok {
		check := fmt.Sprintf("%s == nil || !is_number(%s) || %s >= %s", acc, acc, acc, r[0])
		msg := fmt.Sprintf("%s must fit %s (at least %s)", label, o.Format, r[0])
		if r[1] != "" {
			check += fmt.Sprintf(" && %s <= %s", acc, r[1])
			msg = fmt.Sprintf("%s must fit %s (%s to %s)", label, o.Format, r[0], r[1])
		}
		out = append(out, m.rule(name+".format", opt("format"), check, msg))
	}
	if o.Format == "f32" {
		out = append(out, m.rule(name+".format", opt("format"),
			fmt.Sprintf("%s == nil || !is_number(%s) || abs(%s) <= 3.4028234663852886e+38", acc, acc, acc),
			fmt.Sprintf("%s must fit a 32-bit float", label)))
	}
	return out
}
