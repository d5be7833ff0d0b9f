package rules

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Keys of the native format, in the order they are documented.
var (
	contractKeys = []string{"domain", "version", "owner", "description", "stage", "sources", "curated",
		"partitionKey", "event", "fields", "lookups", "rules", "enrich"}
	policyKeys = []string{"policy", "version", "owner", "description", "appliesTo", "rules"}
	eventKeys  = []string{"type", "schemaVersion", "time"}
	fieldKeys  = []string{"type", "description", "required", "format", "enum", "pattern", "minimum", "maximum",
		"exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems",
		"uniqueItems", "fields", "items"}
	lookupKeys = []string{"file", "key", "value"}
	ruleKeys   = []string{"name", "description", "when", "check", "unique", "severity", "message"}
	uniqueKeys = []string{"key", "window", "maxKeys"}
	stepKeys   = []string{OpSet, "value", OpRename, OpDrop, OpRedact, OpHash, OpNormalize, OpMetadata}
	renameKeys = []string{"from", "to"}
	normKeys   = []string{"field", "op"}
)

// ParseYAML parses a native contract or policy file. A document with a top-level "domain" key
// is a contract, one with "policy" is a global policy.
func ParseYAML(file string, data []byte) (*Spec, ErrorList) {
	d := &ynode{file: file}
	root := d.parseDoc(data)
	if root == nil {
		return nil, d.errs
	}
	root = deref(root)
	spec := &Spec{File: file, Format: "yaml", Pos: d.pos(root)}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a contract must be a mapping, got %s", kindName(root))
		return nil, d.errs
	}
	hasKey := func(k string) bool {
		for i := 0; i < len(root.Content); i += 2 {
			if root.Content[i].Value == k {
				return true
			}
		}
		return false
	}
	switch {
	case hasKey("policy"):
		spec.Kind = KindPolicy
		d.parsePolicy(root, spec)
	case hasKey("domain"):
		spec.Kind = KindContract
		d.parseContract(root, spec)
	default:
		d.errorf(root, "neither a contract (no \"domain\" key) nor a policy (no \"policy\" key)")
		return nil, d.errs
	}
	return spec, d.errs
}

func (d *ynode) parseContract(root *yaml.Node, s *Spec) {
	seen := d.fields(root, "contract", contractKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "domain":
			s.Name = d.nonEmpty(v, key)
		case "version":
			s.Version = d.nonEmpty(v, key)
		case "owner":
			s.Owner = d.str(v, key)
		case "description":
			s.Description = d.str(v, key).Value
		case "stage":
			s.Stage = d.str(v, key)
			if st := s.Stage.Value; st != StageActive && st != StageShadow && d.scalar(v, key) {
				d.errorf(v, "stage must be %q or %q, got %q", StageActive, StageShadow, st)
			}
		case "sources":
			s.Sources = d.strList(v, key)
		case "curated":
			s.Curated = d.nonEmpty(v, key)
		case "partitionKey":
			s.PartitionKey = d.expr(v, key)
		case "event":
			d.fields(v, "event", eventKeys, func(key string, _, v *yaml.Node) {
				switch key {
				case "type":
					s.Event.Type = d.expr(v, "event.type")
				case "schemaVersion":
					s.Event.SchemaVersion = d.expr(v, "event.schemaVersion")
				case "time":
					s.Event.Time = d.expr(v, "event.time")
				}
			})
		case "fields":
			s.Fields = d.parseFields(v)
		case "lookups":
			s.Lookups = d.parseLookups(v)
		case "rules":
			s.Rules = d.parseRules(v)
		case "enrich":
			s.Enrich = d.parseSteps(v)
		}
	})
	d.require(root, "contract", seen, "domain", "version")
}

func (d *ynode) parsePolicy(root *yaml.Node, s *Spec) {
	seen := d.fields(root, "policy", policyKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "policy":
			s.Name = d.nonEmpty(v, key)
		case "version":
			s.Version = d.nonEmpty(v, key)
		case "owner":
			s.Owner = d.str(v, key)
		case "description":
			s.Description = d.str(v, key).Value
		case "appliesTo":
			s.AppliesTo = d.strList(v, key)
		case "rules":
			s.Rules = d.parseRules(v)
		}
	})
	d.require(root, "policy", seen, "policy", "version", "appliesTo")
}

// parseFields reads a mapping of field name to declaration.
func (d *ynode) parseFields(n *yaml.Node) []SpecField {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "fields must be a mapping of field name to declaration, got %s", kindName(n))
		return nil
	}
	var out []SpecField
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if seen[k.Value] {
			d.errorf(k, "duplicate field %q", k.Value)
			continue
		}
		seen[k.Value] = true
		if k.Value == "" || strings.Contains(k.Value, ".") {
			d.errorf(k, "field name %q must be a plain key (declare nested objects with fields:)", k.Value)
			continue
		}
		f := SpecField{Name: Str{Value: k.Value, Pos: d.pos(k)}}
		d.parseField(v, &f)
		out = append(out, f)
	}
	return out
}

func (d *ynode) parseField(v *yaml.Node, f *SpecField) {
	what := "field " + f.Name.Value
	if f.Name.Value == "" {
		what = "items"
	}
	var min, max, xmin, xmax *Bound
	d.fields(v, what, fieldKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "type":
			f.Type = d.str(v, key)
			if !contains(fieldTypes, f.Type.Value) && d.scalar(v, key) {
				d.errorf(v, "unknown type %q (known: %s)", f.Type.Value, strings.Join(fieldTypes, ", "))
			}
		case "description":
			d.str(v, key)
		case "required":
			f.Required = d.boolean(v, key)
			f.RequiredPos = d.pos(k)
		case "format":
			f.Format = d.str(v, key)
			if _, ok := formatFuncs[f.Format.Value]; !ok && d.scalar(v, key) {
				d.errorf(v, "unknown format %q (known: %s)", f.Format.Value, strings.Join(sortedKeys(formatFuncs), ", "))
			}
		case "enum":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				d.errorf(v, "enum must be a non-empty list")
				return
			}
			f.EnumPos = d.pos(k)
			for _, c := range v.Content {
				c = deref(c)
				if c.Kind != yaml.ScalarNode {
					d.errorf(c, "enum values must be scalars")
					continue
				}
				f.Enum = append(f.Enum, d.value(c))
			}
		case "pattern":
			f.Pattern = d.nonEmpty(v, key)
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			x, ok := d.number(v, key)
			if !ok {
				return
			}
			b := &Bound{Value: x, Exclusive: strings.HasPrefix(key, "exclusive"), Pos: d.pos(k)}
			switch key {
			case "minimum":
				min = b
			case "maximum":
				max = b
			case "exclusiveMinimum":
				xmin = b
			case "exclusiveMaximum":
				xmax = b
			}
		case "minLength", "maxLength", "minItems", "maxItems":
			x, ok := d.integer(v, key)
			if !ok {
				return
			}
			fc := &IntFacet{Value: x, Pos: d.pos(k)}
			switch key {
			case "minLength":
				f.MinLength = fc
			case "maxLength":
				f.MaxLength = fc
			case "minItems":
				f.MinItems = fc
			case "maxItems":
				f.MaxItems = fc
			}
		case "uniqueItems":
			f.UniqueItems = d.boolean(v, key)
			f.UniquePos = d.pos(k)
		case "fields":
			f.Fields = d.parseFields(v)
		case "items":
			it := &SpecField{Name: Str{Pos: d.pos(v)}}
			d.parseField(v, it)
			f.Items = it
		}
	})
	pick := func(incl, excl *Bound, a, b string) *Bound {
		if incl != nil && excl != nil {
			d.errs.Add(excl.Pos, "%s and %s are exclusive", a, b)
		}
		if excl != nil {
			return excl
		}
		return incl
	}
	f.Minimum = pick(min, xmin, "minimum", "exclusiveMinimum")
	f.Maximum = pick(max, xmax, "maximum", "exclusiveMaximum")
}

var fieldTypes = []string{TypeString, TypeNumber, TypeInteger, TypeBoolean, TypeObject, TypeArray,
	TypeTimestamp, TypeDate, TypeAny}

func (d *ynode) parseLookups(n *yaml.Node) []SpecLookup {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "lookups must be a mapping of table name to {file, key, value}, got %s", kindName(n))
		return nil
	}
	var out []SpecLookup
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		l := SpecLookup{Name: Str{Value: k.Value, Pos: d.pos(k)}}
		seen := d.fields(v, "lookup "+k.Value, lookupKeys, func(key string, _, v *yaml.Node) {
			switch key {
			case "file":
				l.File = d.nonEmpty(v, key)
			case "key":
				l.Key = d.nonEmpty(v, key)
			case "value":
				l.Value = d.nonEmpty(v, key)
			}
		})
		d.require(v, "lookup "+k.Value, seen, "file")
		out = append(out, l)
	}
	return out
}

func (d *ynode) parseRules(n *yaml.Node) []SpecRule {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "rules must be a list, got %s", kindName(n))
		return nil
	}
	out := make([]SpecRule, 0, len(n.Content))
	for _, c := range n.Content {
		c = deref(c)
		r := SpecRule{Pos: d.pos(c)}
		seen := d.fields(c, "rule", ruleKeys, func(key string, _, v *yaml.Node) {
			switch key {
			case "name":
				r.Name = d.nonEmpty(v, key)
			case "description":
				d.str(v, key)
			case "when":
				r.When = d.expr(v, key)
			case "check":
				r.Check = d.expr(v, key)
			case "unique":
				r.Unique = d.parseUnique(v)
			case "severity":
				r.Severity = d.str(v, key)
			case "message":
				r.Message = d.str(v, key)
			}
		})
		what := "rule"
		if r.Name.Value != "" {
			what = fmt.Sprintf("rule %q", r.Name.Value)
		}
		d.require(c, what, seen, "name")
		_, hasCheck := seen["check"]
		switch u, hasUnique := seen["unique"]; {
		case seen == nil:
		case hasCheck && hasUnique:
			d.errorf(u, "%s: check and unique exclude each other (a rule judges each event on its own, or remembers keys across events)", what)
		case !hasCheck && !hasUnique:
			d.errorf(c, "%s: missing required key \"check\"", what)
		}
		out = append(out, r)
	}
	return out
}

// parseUnique reads unique: {key: expr | [expr, ...], window: 1h, maxKeys: 100000}.
func (d *ynode) parseUnique(n *yaml.Node) *SpecUnique {
	u := &SpecUnique{Pos: d.pos(n)}
	d.fields(n, "unique", uniqueKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "key":
			switch v.Kind {
			case yaml.SequenceNode:
				for _, c := range v.Content {
					u.Key = append(u.Key, d.expr(deref(c), "unique.key"))
				}
			default:
				u.Key = append(u.Key, d.expr(v, "unique.key"))
			}
		case "window":
			u.Window = d.nonEmpty(v, "unique.window")
		case "maxKeys":
			if x, ok := d.integer(v, "unique.maxKeys"); ok {
				u.MaxKeys = &IntFacet{Value: x, Pos: d.pos(v)}
			}
		}
	})
	return u // a missing or empty key is reported by the compiler, with the rule's name
}

func (d *ynode) parseSteps(n *yaml.Node) []SpecStep {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "enrich must be a list, got %s", kindName(n))
		return nil
	}
	out := make([]SpecStep, 0, len(n.Content))
	for _, c := range n.Content {
		c = deref(c)
		st := SpecStep{Pos: d.pos(c)}
		var value *yaml.Node
		ops := 0
		seen := d.fields(c, "enrich step", stepKeys, func(key string, k, v *yaml.Node) {
			if key == "value" {
				value = v
				return
			}
			ops++
			if ops > 1 {
				d.errorf(k, "an enrich step has exactly one operation, found %q after %q", key, st.Op)
				return
			}
			st.Op = key
			switch key {
			case OpSet, OpDrop, OpRedact, OpHash, OpMetadata:
				st.Path = d.nonEmpty(v, key)
			case OpRename:
				seen := d.fields(v, "rename", renameKeys, func(key string, _, v *yaml.Node) {
					switch key {
					case "from":
						st.Path = d.nonEmpty(v, key)
					case "to":
						st.To = d.nonEmpty(v, key)
					}
				})
				d.require(v, "rename", seen, "from", "to")
			case OpNormalize:
				seen := d.fields(v, "normalize", normKeys, func(key string, _, v *yaml.Node) {
					switch key {
					case "field":
						st.Path = d.nonEmpty(v, key)
					case "op":
						st.Norm = d.str(v, key)
						if !contains(normOps, st.Norm.Value) && d.scalar(v, key) {
							d.errorf(v, "normalize op must be one of %s, got %q", strings.Join(normOps, ", "), st.Norm.Value)
						}
					}
				})
				d.require(v, "normalize", seen, "field", "op")
			}
		})
		if seen == nil {
			continue
		}
		allKnown := true
		for k := range seen {
			allKnown = allKnown && contains(stepKeys, k)
		}
		switch {
		case ops == 0 && allKnown:
			d.errorf(c, "enrich step needs one of: %s", strings.Join(stepOps, ", "))
		case st.Op == OpSet && value == nil:
			d.errorf(c, "set needs a value expression")
		case st.Op != OpSet && value != nil && ops == 1:
			d.errorf(seen["value"], "value is only allowed with set")
		}
		if st.Op == OpSet && value != nil {
			st.Value = d.expr(value, "value")
		}
		out = append(out, st)
	}
	return out
}

var (
	normOps = []string{"trim", "lower", "upper"}
	stepOps = []string{OpSet, OpRename, OpDrop, OpRedact, OpHash, OpNormalize, OpMetadata}
)
