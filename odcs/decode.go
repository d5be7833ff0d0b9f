package odcs

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// APIVersions are the ODCS versions meshgate reads.
var APIVersions = []string{"v3.1.0", "v3.0.2", "v3.0.1", "v3.0.0"}

// legacyAPIVersions are valid ODCS versions meshgate does not read (v2 has another shape).
var legacyAPIVersions = []string{"v2.2.2", "v2.2.1", "v2.2.0"}

// LogicalTypes are the values of a property's logicalType.
var LogicalTypes = []string{"string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean"}

var (
	qualityTypes = []string{"text", "library", "sql", "custom"}
	dimensions   = []string{"accuracy", "completeness", "conformity", "consistency", "coverage", "timeliness", "uniqueness"}
	// Metrics are the metrics of library quality entries.
	Metrics = []string{"nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount"}

	stableIDRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	shorthandRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)
	fullRefRE   = regexp.MustCompile(`^(?:(?:https?:\/\/)?[A-Za-z0-9._\-\/]+\.yaml#)?\/?[A-Za-z_][A-Za-z0-9_]*\/[A-Za-z0-9_-]+(?:\/[A-Za-z_][A-Za-z0-9_]*\/[A-Za-z0-9_-]+)*$`)
)

// LoadFile reads and decodes one ODCS document file.
func LoadFile(path string) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ODCS document: %w", err)
	}
	return Decode(path, data)
}

// Decode reads one ODCS document strictly: unknown keys, wrong types, missing required
// fields, values outside the standard's enums and every other shape the ODCS v3.1.0 JSON
// Schema rejects are problems, all reported at once as a Problems error with file:line:col.
// A few restrictions go beyond the standard (Problem.Beyond says which).
func Decode(file string, data []byte) (*Document, error) {
	root, p := parseYAML(file, data)
	if p != nil {
		return nil, Problems{p}
	}
	d := newNodes(file)
	doc := d.document(root)
	for _, p := range d.probs {
		if p.Beyond {
			p.Msg += " (a meshgate restriction beyond the ODCS schema)"
		}
	}
	if err := d.probs.Err(); err != nil {
		return nil, err
	}
	return doc, nil
}

func (d *nodes) enum(n *yaml.Node, what, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	d.errorf(n, "%s %q is not one of %s", what, v, strings.Join(allowed, ", "))
	return false
}

func (d *nodes) stableID(n *yaml.Node, what string, dst *string) {
	if d.str(n, what, dst) && !stableIDRE.MatchString(*dst) {
		d.errorf(n, "%s %q may only contain letters, digits, _ and -", what, *dst)
	}
}

func (d *nodes) strList(n *yaml.Node, what string, dst *[]string) {
	its, ok := d.items(n, what)
	if !ok {
		return
	}
	out := make([]string, 0, len(its))
	for _, it := range its {
		var s string
		if d.str(it, what+" entry", &s) {
			out = append(out, s)
		}
	}
	*dst = out
}

func (d *nodes) anyValue(n *yaml.Node, dst *Any) {
	v, _ := d.value(n)
	dst.V = v
}

func (d *nodes) document(n *yaml.Node) *Document {
	doc := &Document{File: d.file, Pos: posOf(n)}
	fs := fieldSet{
		"apiVersion": func(v *yaml.Node) {
			if !d.str(v, "apiVersion", &doc.APIVersion) {
				return
			}
			if slices.Contains(legacyAPIVersions, doc.APIVersion) {
				d.beyondf(v, "apiVersion %s: ODCS v2 documents are not supported; meshgate reads %s", doc.APIVersion, strings.Join(APIVersions, ", "))
				return
			}
			d.enum(v, "apiVersion", doc.APIVersion, APIVersions)
		},
		"kind": func(v *yaml.Node) {
			if d.str(v, "kind", &doc.Kind) {
				d.enum(v, "kind", doc.Kind, []string{"DataContract"})
			}
		},
		"id":                func(v *yaml.Node) { d.str(v, "id", &doc.ID) },
		"name":              func(v *yaml.Node) { d.str(v, "name", &doc.Name) },
		"version":           func(v *yaml.Node) { d.str(v, "version", &doc.Version) },
		"status":            func(v *yaml.Node) { d.str(v, "status", &doc.Status) },
		"tenant":            func(v *yaml.Node) { d.str(v, "tenant", &doc.Tenant) },
		"domain":            func(v *yaml.Node) { d.str(v, "domain", &doc.Domain) },
		"dataProduct":       func(v *yaml.Node) { d.str(v, "dataProduct", &doc.DataProduct) },
		"slaDefaultElement": func(v *yaml.Node) { d.str(v, "slaDefaultElement", &doc.SLADefaultElement) },
		"contractCreatedTs": func(v *yaml.Node) { d.str(v, "contractCreatedTs", &doc.ContractCreatedTs) },
		"tags":              func(v *yaml.Node) { d.strList(v, "tags", &doc.Tags) },
		"description":       func(v *yaml.Node) { doc.Description = d.description(v) },
		"authoritativeDefinitions": func(v *yaml.Node) {
			doc.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { doc.CustomProperties = d.customProps(v, "customProperties") },
		"servers": func(v *yaml.Node) {
			its, _ := d.items(v, "servers")
			for _, it := range its {
				doc.Servers = append(doc.Servers, d.server(it))
			}
		},
		"schema": func(v *yaml.Node) {
			its, _ := d.items(v, "schema")
			for _, it := range its {
				doc.Schema = append(doc.Schema, d.schemaObject(it))
			}
		},
		"support": func(v *yaml.Node) {
			its, _ := d.items(v, "support")
			for _, it := range its {
				doc.Support = append(doc.Support, d.supportItem(it))
			}
		},
		"price": func(v *yaml.Node) { doc.Price = d.pricing(v) },
		"team":  func(v *yaml.Node) { doc.Team = d.team(v) },
		"roles": func(v *yaml.Node) { doc.Roles = d.roles(v, "roles") },
		"slaProperties": func(v *yaml.Node) {
			its, _ := d.items(v, "slaProperties")
			for _, it := range its {
				doc.SLAProperties = append(doc.SLAProperties, d.slaProperty(it))
			}
		},
	}
	present := d.object(n, "the document", fs)
	d.require(n, "the document", present, "version", "apiVersion", "kind", "id", "status")
	doc.At = make(map[string]Pos, len(present))
	for k, kn := range present {
		doc.At[k] = posOf(kn)
	}
	return doc
}

func (d *nodes) description(n *yaml.Node) *Description {
	desc := &Description{}
	fs := fieldSet{
		"usage":       func(v *yaml.Node) { d.str(v, "description.usage", &desc.Usage) },
		"purpose":     func(v *yaml.Node) { d.str(v, "description.purpose", &desc.Purpose) },
		"limitations": func(v *yaml.Node) { d.str(v, "description.limitations", &desc.Limitations) },
		"authoritativeDefinitions": func(v *yaml.Node) {
			desc.AuthoritativeDefinitions = d.authDefs(v, "description.authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { desc.CustomProperties = d.customProps(v, "description.customProperties") },
	}
	// The standard leaves this object open; meshgate does not (a typo here would
	// otherwise vanish), so unknown keys are restrictions of our own.
	ps, ok := d.pairs(n, "description")
	if !ok {
		return desc
	}
	for _, p := range ps {
		if fn, ok := fs[p.key]; ok {
			fn(p.val)
			continue
		}
		d.beyondf(p.kn, "unknown field %q in description (meshgate allows usage, purpose, limitations, authoritativeDefinitions, customProperties)%s",
			p.key, suggest(p.key, []string{"usage", "purpose", "limitations", "authoritativeDefinitions", "customProperties"}))
	}
	return desc
}

func (d *nodes) authDefs(n *yaml.Node, what string) []*AuthoritativeDefinition {
	its, ok := d.items(n, what)
	if !ok {
		return nil
	}
	out := []*AuthoritativeDefinition{}
	for _, it := range its {
		a := &AuthoritativeDefinition{}
		present := d.object(it, "authoritative definition", fieldSet{
			"id":          func(v *yaml.Node) { d.stableID(v, "id", &a.ID) },
			"url":         func(v *yaml.Node) { d.str(v, "url", &a.URL) },
			"type":        func(v *yaml.Node) { d.str(v, "type", &a.Type) },
			"description": func(v *yaml.Node) { d.str(v, "description", &a.Description) },
		})
		d.require(it, "authoritative definition", present, "url", "type")
		out = append(out, a)
	}
	return out
}

func (d *nodes) customProps(n *yaml.Node, what string) []*CustomProperty {
	its, ok := d.items(n, what)
	if !ok {
		return nil
	}
	out := []*CustomProperty{}
	for _, it := range its {
		c := &CustomProperty{Pos: posOf(it)}
		present := d.object(it, "custom property", fieldSet{
			"id":          func(v *yaml.Node) { d.stableID(v, "id", &c.ID) },
			"property":    func(v *yaml.Node) { d.str(v, "property", &c.Property) },
			"value":       func(v *yaml.Node) { d.anyValue(v, &c.Value) },
			"description": func(v *yaml.Node) { d.str(v, "description", &c.Description) },
		})
		d.require(it, "custom property", present, "property", "value")
		out = append(out, c)
	}
	return out
}

func (d *nodes) roles(n *yaml.Node, what string) []*Role {
	its, ok := d.items(n, what)
	if !ok {
		return nil
	}
	out := []*Role{}
	for _, it := range its {
		r := &Role{}
		present := d.object(it, "role", fieldSet{
			"id":                   func(v *yaml.Node) { d.stableID(v, "id", &r.ID) },
			"role":                 func(v *yaml.Node) { d.str(v, "role", &r.Role) },
			"description":          func(v *yaml.Node) { d.str(v, "description", &r.Description) },
			"access":               func(v *yaml.Node) { d.str(v, "access", &r.Access) },
			"firstLevelApprovers":  func(v *yaml.Node) { d.str(v, "firstLevelApprovers", &r.FirstLevelApprovers) },
			"secondLevelApprovers": func(v *yaml.Node) { d.str(v, "secondLevelApprovers", &r.SecondLevelApprovers) },
			"customProperties":     func(v *yaml.Node) { r.CustomProperties = d.customProps(v, "customProperties") },
		})
		d.require(it, "role", present, "role")
		out = append(out, r)
	}
	return out
}

// srvKind is the JSON type of a server attribute.
type srvKind uint8

const (
	srvStr srvKind = iota
	srvInt
)

type serverType struct {
	props    map[string]srvKind
	required []string
}

// serverTypes lists, per server type, the type-specific fields and which are required.
var serverTypes = map[string]serverType{
	"api":        {props: map[string]srvKind{"location": srvStr}, required: []string{"location"}},
	"athena":     {props: map[string]srvKind{"stagingDir": srvStr, "schema": srvStr, "catalog": srvStr, "regionName": srvStr}, required: []string{"stagingDir", "schema"}},
	"azure":      {props: map[string]srvKind{"location": srvStr, "format": srvStr, "delimiter": srvStr}, required: []string{"location", "format"}},
	"bigquery":   {props: map[string]srvKind{"project": srvStr, "dataset": srvStr}, required: []string{"project", "dataset"}},
	"clickhouse": {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "port", "database"}},
	"databricks": {props: map[string]srvKind{"host": srvStr, "catalog": srvStr, "schema": srvStr}, required: []string{"catalog", "schema"}},
	"denodo":     {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "port"}},
	"dremio":     {props: map[string]srvKind{"host": srvStr, "port": srvInt, "schema": srvStr}, required: []string{"host", "port"}},
	"duckdb":     {props: map[string]srvKind{"database": srvStr, "schema": srvStr}, required: []string{"database"}},
	"glue":       {props: map[string]srvKind{"account": srvStr, "database": srvStr, "location": srvStr, "format": srvStr}, required: []string{"account", "database"}},
	"cloudsql":   {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "port", "database", "schema"}},
	"db2":        {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "port", "database"}},
	"hive":       {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "database"}},
	"impala":     {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "database"}},
	"informix":   {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "database"}},
	"zen":        {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "database"}},
	"custom": {props: map[string]srvKind{"account": srvStr, "catalog": srvStr, "database": srvStr, "dataset": srvStr,
		"delimiter": srvStr, "endpointUrl": srvStr, "format": srvStr, "host": srvStr, "location": srvStr, "path": srvStr,
		"port": srvInt, "project": srvStr, "region": srvStr, "regionName": srvStr, "schema": srvStr, "serviceName": srvStr,
		"stagingDir": srvStr, "warehouse": srvStr, "stream": srvStr}},
	"kafka":      {props: map[string]srvKind{"host": srvStr, "format": srvStr}, required: []string{"host"}},
	"kinesis":    {props: map[string]srvKind{"region": srvStr, "format": srvStr}},
	"local":      {props: map[string]srvKind{"path": srvStr, "format": srvStr}, required: []string{"path", "format"}},
	"mysql":      {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "port", "database"}},
	"oracle":     {props: map[string]srvKind{"host": srvStr, "port": srvInt, "serviceName": srvStr}, required: []string{"host", "port", "serviceName"}},
	"postgresql": {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "port", "database", "schema"}},
	"postgres":   {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "port", "database", "schema"}},
	"presto":     {props: map[string]srvKind{"host": srvStr, "catalog": srvStr, "schema": srvStr}, required: []string{"host"}},
	"pubsub":     {props: map[string]srvKind{"project": srvStr}, required: []string{"project"}},
	"redshift":   {props: map[string]srvKind{"host": srvStr, "database": srvStr, "schema": srvStr, "region": srvStr, "account": srvStr}, required: []string{"database", "schema"}},
	"s3":         {props: map[string]srvKind{"location": srvStr, "endpointUrl": srvStr, "format": srvStr, "delimiter": srvStr}, required: []string{"location"}},
	"sftp":       {props: map[string]srvKind{"location": srvStr, "format": srvStr, "delimiter": srvStr}, required: []string{"location"}},
	"snowflake":  {props: map[string]srvKind{"host": srvStr, "port": srvInt, "account": srvStr, "database": srvStr, "schema": srvStr, "warehouse": srvStr}, required: []string{"account", "database", "schema"}},
	"sqlserver":  {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "database", "schema"}},
	"synapse":    {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr}, required: []string{"host", "port", "database"}},
	"trino":      {props: map[string]srvKind{"host": srvStr, "port": srvInt, "catalog": srvStr, "schema": srvStr}, required: []string{"host", "port", "catalog", "schema"}},
	"vertica":    {props: map[string]srvKind{"host": srvStr, "port": srvInt, "database": srvStr, "schema": srvStr}, required: []string{"host", "port", "database", "schema"}},
}

// ServerTypes returns the server types of the standard, sorted.
func ServerTypes() []string {
	out := make([]string, 0, len(serverTypes))
	for t := range serverTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (d *nodes) server(n *yaml.Node) *Server {
	s := &Server{Pos: posOf(n), Attrs: map[string]Any{}}
	fs := fieldSet{
		"id":          func(v *yaml.Node) { d.stableID(v, "id", &s.ID) },
		"server":      func(v *yaml.Node) { d.str(v, "server", &s.Server) },
		"description": func(v *yaml.Node) { d.str(v, "description", &s.Description) },
		"environment": func(v *yaml.Node) { d.str(v, "environment", &s.Environment) },
		"roles":       func(v *yaml.Node) { s.Roles = d.roles(v, "roles") },
		"customProperties": func(v *yaml.Node) {
			s.CustomProperties = d.customProps(v, "customProperties")
		},
		"type": func(v *yaml.Node) {
			if d.str(v, "server type", &s.Type) {
				d.enum(v, "server type", s.Type, ServerTypes())
			}
		},
	}
	typ, _ := scalarString(key(n, "type"))
	st, known := serverTypes[typ]
	if known {
		for name, kind := range st.props {
			fs[name] = func(v *yaml.Node) {
				what := typ + " server " + name
				switch kind {
				case srvInt:
					if _, ok := d.integer(v, what); ok {
						num, _ := d.number(v, what)
						s.Attrs[name] = Any{V: num}
					}
				default:
					var str string
					if d.str(v, what, &str) {
						s.Attrs[name] = Any{V: str}
						if typ == "sftp" && name == "location" && !strings.HasPrefix(str, "sftp://") {
							d.errorf(v, "sftp server location %q must start with sftp://", str)
						}
					}
				}
			}
		}
	}
	present := d.object(n, "server", fs)
	d.require(n, "server", present, "server", "type")
	if known {
		d.require(n, typ+" server", present, st.required...)
	}
	return s
}

func (d *nodes) schemaObject(n *yaml.Node) *SchemaObject {
	o := &SchemaObject{Pos: posOf(n)}
	fs := fieldSet{
		"id":                         func(v *yaml.Node) { d.stableID(v, "id", &o.ID) },
		"name":                       func(v *yaml.Node) { d.str(v, "name", &o.Name) },
		"physicalName":               func(v *yaml.Node) { d.str(v, "physicalName", &o.PhysicalName) },
		"physicalType":               func(v *yaml.Node) { d.str(v, "physicalType", &o.PhysicalType) },
		"businessName":               func(v *yaml.Node) { d.str(v, "businessName", &o.BusinessName) },
		"description":                func(v *yaml.Node) { d.str(v, "description", &o.Description) },
		"dataGranularityDescription": func(v *yaml.Node) { d.str(v, "dataGranularityDescription", &o.DataGranularityDescription) },
		"tags":                       func(v *yaml.Node) { d.strList(v, "tags", &o.Tags) },
		"authoritativeDefinitions": func(v *yaml.Node) {
			o.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { o.CustomProperties = d.customProps(v, "customProperties") },
		"logicalType": func(v *yaml.Node) {
			if d.str(v, "schema object logicalType", &o.LogicalType) {
				d.enum(v, "schema object logicalType", o.LogicalType, []string{"object"})
			}
		},
		"properties": func(v *yaml.Node) { o.Properties = d.properties(v) },
		"relationships": func(v *yaml.Node) {
			its, _ := d.items(v, "relationships")
			for _, it := range its {
				o.Relationships = append(o.Relationships, d.relationship(it, true))
			}
		},
		"quality": func(v *yaml.Node) { o.Quality = d.qualities(v) },
	}
	present := d.object(n, "schema object", fs)
	d.require(n, "schema object", present, "name")
	return o
}

func (d *nodes) properties(n *yaml.Node) []*Property {
	its, ok := d.items(n, "properties")
	if !ok {
		return nil
	}
	out := []*Property{}
	for _, it := range its {
		out = append(out, d.property(it, false))
	}
	return out
}

// property decodes a schema property, or an array's item schema when item is true. Which
// keys are allowed depends on logicalType, as in the standard: `properties` only for
// object (or no logicalType), `items` only for array (or no logicalType).
func (d *nodes) property(n *yaml.Node, item bool) *Property {
	p := &Property{Pos: posOf(n)}
	what := "schema property"
	if item {
		what = "array items"
	}
	ltNode := key(n, "logicalType")
	lt, ltIsString := scalarString(ltNode)
	ltValid := ltIsString && slices.Contains(LogicalTypes, lt)
	fs := fieldSet{
		"id":             func(v *yaml.Node) { d.stableID(v, "id", &p.ID) },
		"name":           func(v *yaml.Node) { d.str(v, "name", &p.Name) },
		"physicalName":   func(v *yaml.Node) { d.str(v, "physicalName", &p.PhysicalName) },
		"physicalType":   func(v *yaml.Node) { d.str(v, "physicalType", &p.PhysicalType) },
		"businessName":   func(v *yaml.Node) { d.str(v, "businessName", &p.BusinessName) },
		"description":    func(v *yaml.Node) { d.str(v, "description", &p.Description) },
		"classification": func(v *yaml.Node) { d.str(v, "classification", &p.Classification) },
		"encryptedName":  func(v *yaml.Node) { d.str(v, "encryptedName", &p.EncryptedName) },
		"transformLogic": func(v *yaml.Node) { d.str(v, "transformLogic", &p.TransformLogic) },
		"transformDescription": func(v *yaml.Node) {
			d.str(v, "transformDescription", &p.TransformDescription)
		},
		"transformSourceObjects": func(v *yaml.Node) { d.strList(v, "transformSourceObjects", &p.TransformSourceObjects) },
		"tags":                   func(v *yaml.Node) { d.strList(v, "tags", &p.Tags) },
		"required": func(v *yaml.Node) {
			if d.boolean(v, "required", &p.Required) {
				p.RequiredPos = posOf(v)
			}
		},
		"unique":              func(v *yaml.Node) { d.boolean(v, "unique", &p.Unique) },
		"primaryKey":          func(v *yaml.Node) { d.boolean(v, "primaryKey", &p.PrimaryKey) },
		"partitioned":         func(v *yaml.Node) { d.boolean(v, "partitioned", &p.Partitioned) },
		"criticalDataElement": func(v *yaml.Node) { d.boolean(v, "criticalDataElement", &p.CriticalDataElement) },
		"primaryKeyPosition": func(v *yaml.Node) {
			if i, ok := d.integer(v, "primaryKeyPosition"); ok {
				p.PrimaryKeyPosition = &i
			}
		},
		"partitionKeyPosition": func(v *yaml.Node) {
			if i, ok := d.integer(v, "partitionKeyPosition"); ok {
				p.PartitionKeyPosition = &i
			}
		},
		"examples": func(v *yaml.Node) {
			its, ok := d.items(v, "examples")
			if !ok {
				return
			}
			p.Examples = []Any{}
			for _, it := range its {
				var a Any
				d.anyValue(it, &a)
				p.Examples = append(p.Examples, a)
			}
		},
		"authoritativeDefinitions": func(v *yaml.Node) {
			p.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { p.CustomProperties = d.customProps(v, "customProperties") },
		"relationships": func(v *yaml.Node) {
			its, _ := d.items(v, "relationships")
			for _, it := range its {
				p.Relationships = append(p.Relationships, d.relationship(it, false))
			}
		},
		"quality": func(v *yaml.Node) { p.Quality = d.qualities(v) },
		"logicalType": func(v *yaml.Node) {
			if d.str(v, "logicalType", &p.LogicalType) {
				d.enum(v, "logicalType", p.LogicalType, LogicalTypes)
			}
		},
		"logicalTypeOptions": func(v *yaml.Node) { p.LogicalTypeOptions = d.options(v, ltNode, lt, ltValid) },
	}
	// With no (or an invalid) logicalType every conditional branch of the standard
	// applies, so both nested forms are allowed there.
	if ltNode == nil || !ltValid || lt == "object" {
		fs["properties"] = func(v *yaml.Node) { p.Properties = d.properties(v) }
	}
	if ltNode == nil || !ltValid || lt == "array" {
		fs["items"] = func(v *yaml.Node) { p.Items = d.property(v, true) }
	}
	present := d.object(n, what, fs)
	if !item {
		d.require(n, what, present, "name")
	}
	p.At = make(map[string]Pos, len(present))
	for k, kn := range present {
		p.At[k] = posOf(kn)
	}
	return p
}

// optionKinds lists, per logicalType, the logicalTypeOptions keys the standard allows.
var optionKinds = map[string][]string{
	"string":    {"minLength", "maxLength", "pattern", "format"},
	"date":      {"format", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"},
	"timestamp": {"format", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "timezone", "defaultTimezone"},
	"time":      {"format", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "timezone", "defaultTimezone"},
	"integer":   {"multipleOf", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "format"},
	"number":    {"multipleOf", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "format"},
	"object":    {"minProperties", "maxProperties", "required"},
	"array":     {"minItems", "maxItems", "uniqueItems"},
}

var (
	integerFormats = []string{"i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128"}
	numberFormats  = []string{"f32", "f64"}
)

func (d *nodes) options(n, ltNode *yaml.Node, lt string, ltValid bool) *LogicalTypeOptions {
	o := &LogicalTypeOptions{Pos: posOf(n), At: map[string]Pos{}}
	ps, ok := d.pairs(n, "logicalTypeOptions")
	if !ok {
		return o
	}
	if ltNode != nil && !ltValid {
		return o // the logicalType itself is reported; its options cannot be judged
	}
	allowed, typed := optionKinds[lt]
	for _, p := range ps {
		switch {
		case ltNode == nil:
			d.errorf(p.kn, "logicalTypeOptions %q needs a logicalType on the property", p.key)
			continue
		case !typed: // boolean: the standard leaves the object open
			d.beyondf(p.kn, "logicalTypeOptions %q has no meaning for logicalType %s", p.key, lt)
			continue
		case !slices.Contains(allowed, p.key):
			d.errorf(p.kn, "logicalTypeOptions %q is not allowed for logicalType %s (allowed: %s)%s",
				p.key, lt, strings.Join(allowed, ", "), suggest(p.key, allowed))
			continue
		}
		o.At[p.key] = posOf(p.val)
		what := "logicalTypeOptions." + p.key
		v := p.val
		switch p.key {
		case "minLength", "maxLength", "minProperties", "maxProperties", "minItems", "maxItems":
			i, ok := d.integer(v, what)
			if !ok {
				continue
			}
			if i < 0 {
				d.errorf(v, "%s must be at least 0, got %d", what, i)
				continue
			}
			dst := map[string]**int64{"minLength": &o.MinLength, "maxLength": &o.MaxLength,
				"minProperties": &o.MinProperties, "maxProperties": &o.MaxProperties,
				"minItems": &o.MinItems, "maxItems": &o.MaxItems}[p.key]
			*dst = &i
		case "pattern":
			d.str(v, what, &o.Pattern)
		case "defaultTimezone":
			d.str(v, what, &o.DefaultTimezone)
		case "format":
			if d.str(v, what, &o.Format) {
				switch lt {
				case "integer":
					d.enum(v, "integer format", o.Format, integerFormats)
				case "number":
					d.enum(v, "number format", o.Format, numberFormats)
				}
			}
		case "timezone", "uniqueItems":
			var b bool
			if d.boolean(v, what, &b) {
				if p.key == "timezone" {
					o.Timezone = &b
				} else {
					o.UniqueItems = &b
				}
			}
		case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf":
			dst := map[string]**Any{"minimum": &o.Minimum, "exclusiveMinimum": &o.ExclusiveMinimum,
				"maximum": &o.Maximum, "exclusiveMaximum": &o.ExclusiveMaximum, "multipleOf": &o.MultipleOf}[p.key]
			if lt == "integer" || lt == "number" {
				num, ok := d.number(v, what)
				if !ok {
					continue
				}
				if p.key == "multipleOf" {
					if f, _ := num.Float64(); f <= 0 {
						d.errorf(v, "%s must be greater than 0, got %s", what, num)
						continue
					}
				}
				*dst = &Any{V: num}
			} else {
				var s string
				if d.str(v, what, &s) {
					*dst = &Any{V: s}
				}
			}
		case "required":
			its, ok := d.items(v, what)
			if !ok {
				continue
			}
			if len(its) == 0 {
				d.errorf(v, "%s must name at least one property", what)
				continue
			}
			seen := map[string]bool{}
			for _, it := range its {
				var s string
				if !d.str(it, what+" entry", &s) {
					continue
				}
				if seen[s] {
					d.errorf(it, "%s lists %q twice", what, s)
				}
				seen[s] = true
				o.Required = append(o.Required, s)
			}
		}
	}
	return o
}

func (d *nodes) reference(n *yaml.Node, what string) bool {
	s, ok := scalarString(n)
	if !ok {
		d.errorf(n, "%s must be a reference string or a list of them, got %s", what, describe(n))
		return false
	}
	if !shorthandRE.MatchString(s) && !fullRefRE.MatchString(s) {
		d.errorf(n, "%s %q is neither a shorthand reference (table.column) nor a fully qualified one (schema/<id>/properties/<id>)", what, s)
		return false
	}
	return true
}

// references decodes a relationship end: one reference or a non-empty list of them.
func (d *nodes) references(n *yaml.Node, what string, dst **Any) string {
	n = d.deref(n)
	if n == nil {
		return ""
	}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			d.errorf(n, "%s must not be an empty list", what)
			return "array"
		}
		for _, it := range n.Content {
			d.reference(d.deref(it), what+" entry")
		}
		v, _ := d.value(n)
		*dst = &Any{V: v}
		return "array"
	}
	if d.reference(n, what) {
		*dst = &Any{V: n.Value}
	}
	return jsonKind(n)
}

func (d *nodes) relationship(n *yaml.Node, schemaLevel bool) *Relationship {
	r := &Relationship{}
	var fromKind, toKind string
	fs := fieldSet{
		"type": func(v *yaml.Node) {
			if d.str(v, "relationship type", &r.Type) {
				d.enum(v, "relationship type", r.Type, []string{"foreignKey"})
			}
		},
		"to":               func(v *yaml.Node) { toKind = d.references(v, "relationship to", &r.To) },
		"customProperties": func(v *yaml.Node) { r.CustomProperties = d.customProps(v, "customProperties") },
	}
	fs["from"] = func(v *yaml.Node) {
		if !schemaLevel {
			d.errorf(v, "a property-level relationship must not have from (it is the property itself)")
			return
		}
		fromKind = d.references(v, "relationship from", &r.From)
	}
	present := d.object(n, "relationship", fs)
	if schemaLevel {
		d.require(n, "schema-level relationship", present, "from", "to")
		if fromKind != "" && toKind != "" && (fromKind == "array") != (toKind == "array") {
			d.errorf(n, "relationship from and to must both be references or both be lists")
		}
	} else {
		d.require(n, "property-level relationship", present, "to")
	}
	return r
}

func (d *nodes) qualities(n *yaml.Node) []*Quality {
	its, ok := d.items(n, "quality")
	if !ok {
		return nil
	}
	out := []*Quality{}
	for _, it := range its {
		out = append(out, d.quality(it))
	}
	return out
}

// quality decodes one quality entry. As in the standard, the library fields apply when
// type is library or a metric is given, the sql fields when type is sql and the custom
// fields when type is custom; library and sql entries carry exactly one operator.
func (d *nodes) quality(n *yaml.Node) *Quality {
	q := &Quality{Pos: posOf(n), ArgPos: map[string]Pos{}, node: d.deref(n)}
	typ, _ := scalarString(key(n, "type"))
	_, metricIsString := scalarString(key(n, "metric"))
	library := typ == "library" || metricIsString
	sql := typ == "sql"
	custom := typ == "custom"
	fs := fieldSet{
		"id":             func(v *yaml.Node) { d.stableID(v, "id", &q.ID) },
		"name":           func(v *yaml.Node) { d.str(v, "name", &q.Name) },
		"description":    func(v *yaml.Node) { d.str(v, "description", &q.Description) },
		"method":         func(v *yaml.Node) { d.str(v, "method", &q.Method) },
		"severity":       func(v *yaml.Node) { d.str(v, "severity", &q.Severity) },
		"businessImpact": func(v *yaml.Node) { d.str(v, "businessImpact", &q.BusinessImpact) },
		"unit":           func(v *yaml.Node) { d.str(v, "unit", &q.Unit) },
		"schedule":       func(v *yaml.Node) { d.str(v, "schedule", &q.Schedule) },
		"scheduler":      func(v *yaml.Node) { d.str(v, "scheduler", &q.Scheduler) },
		"tags":           func(v *yaml.Node) { d.strList(v, "tags", &q.Tags) },
		"authoritativeDefinitions": func(v *yaml.Node) {
			q.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { q.CustomProperties = d.customProps(v, "customProperties") },
		"dimension": func(v *yaml.Node) {
			if d.str(v, "dimension", &q.Dimension) {
				d.enum(v, "dimension", q.Dimension, dimensions)
			}
		},
		"type": func(v *yaml.Node) {
			if d.str(v, "quality type", &q.Type) {
				d.enum(v, "quality type", q.Type, qualityTypes)
			}
		},
	}
	var ops []*yaml.Node
	if library || sql {
		for _, op := range Operators {
			fs[op] = func(v *yaml.Node) {
				ops = append(ops, v)
				if q.Operator != "" {
					return // reported below
				}
				q.Operator = op
				d.operand(v, op, &q.Operand)
			}
		}
	}
	if library {
		fs["metric"] = func(v *yaml.Node) {
			if d.str(v, "metric", &q.Metric) {
				d.enum(v, "metric", q.Metric, Metrics)
			}
		}
		fs["rule"] = func(v *yaml.Node) { d.str(v, "rule", &q.Rule) }
		fs["arguments"] = func(v *yaml.Node) {
			ps, ok := d.pairs(v, "arguments")
			if !ok {
				return
			}
			q.Arguments = map[string]Any{}
			for _, p := range ps {
				var a Any
				d.anyValue(p.val, &a)
				q.Arguments[p.key] = a
				q.ArgPos[p.key] = posOf(p.val)
			}
		}
	}
	if sql {
		fs["query"] = func(v *yaml.Node) { d.str(v, "query", &q.Query) }
	}
	if custom {
		fs["engine"] = func(v *yaml.Node) { d.str(v, "engine", &q.Engine) }
		fs["implementation"] = func(v *yaml.Node) {
			v = d.deref(v)
			if v == nil {
				return
			}
			if k := jsonKind(v); k != "string" && k != "object" {
				d.errorf(v, "implementation must be a string or a mapping, got %s", describe(v))
				return
			}
			q.Implementation = &Any{}
			d.anyValue(v, q.Implementation)
		}
	}
	present := d.object(n, "quality entry", fs)
	if library {
		d.require(n, "library quality entry", present, "metric")
	}
	if sql {
		d.require(n, "sql quality entry", present, "query")
	}
	if custom {
		d.require(n, "custom quality entry", present, "engine", "implementation")
	}
	if present != nil && (library || sql) {
		switch {
		case len(ops) == 0:
			d.errorf(n, "%s quality entry needs exactly one of %s", map[bool]string{true: "library", false: "sql"}[library], strings.Join(Operators, ", "))
		case len(ops) > 1:
			d.errorf(ops[1], "quality entry has more than one operator; use exactly one of %s", strings.Join(Operators, ", "))
		}
	}
	return q
}

func (d *nodes) operand(v *yaml.Node, op string, dst *Any) {
	switch op {
	case "mustBe", "mustNotBe":
		d.anyValue(v, dst)
	case "mustBeBetween", "mustNotBeBetween":
		its, ok := d.items(v, op)
		if !ok {
			return
		}
		if len(its) != 2 {
			d.errorf(v, "%s must be a list of exactly two numbers, got %d entries", op, len(its))
			return
		}
		a, okA := d.number(its[0], op+" lower bound")
		b, okB := d.number(its[1], op+" upper bound")
		if !okA || !okB {
			return
		}
		fa, _ := a.Float64()
		fb, _ := b.Float64()
		if fa == fb {
			d.errorf(v, "%s bounds must differ", op)
			return
		}
		dst.V = []any{a, b}
	default:
		if num, ok := d.number(v, op); ok {
			dst.V = num
		}
	}
}

func (d *nodes) supportItem(n *yaml.Node) *SupportItem {
	s := &SupportItem{}
	present := d.object(n, "support channel", fieldSet{
		"id":               func(v *yaml.Node) { d.stableID(v, "id", &s.ID) },
		"channel":          func(v *yaml.Node) { d.str(v, "channel", &s.Channel) },
		"url":              func(v *yaml.Node) { d.str(v, "url", &s.URL) },
		"description":      func(v *yaml.Node) { d.str(v, "description", &s.Description) },
		"tool":             func(v *yaml.Node) { d.str(v, "tool", &s.Tool) },
		"scope":            func(v *yaml.Node) { d.str(v, "scope", &s.Scope) },
		"invitationUrl":    func(v *yaml.Node) { d.str(v, "invitationUrl", &s.InvitationURL) },
		"customProperties": func(v *yaml.Node) { s.CustomProperties = d.customProps(v, "customProperties") },
	})
	d.require(n, "support channel", present, "channel")
	return s
}

func (d *nodes) pricing(n *yaml.Node) *Pricing {
	p := &Pricing{}
	d.object(n, "price", fieldSet{
		"id": func(v *yaml.Node) { d.stableID(v, "id", &p.ID) },
		"priceAmount": func(v *yaml.Node) {
			if num, ok := d.number(v, "priceAmount"); ok {
				p.PriceAmount = &Any{V: num}
			}
		},
		"priceCurrency": func(v *yaml.Node) { d.str(v, "priceCurrency", &p.PriceCurrency) },
		"priceUnit":     func(v *yaml.Node) { d.str(v, "priceUnit", &p.PriceUnit) },
	})
	return p
}

func (d *nodes) team(n *yaml.Node) *Team {
	t := &Team{}
	if dn := d.deref(n); dn != nil && dn.Kind == yaml.SequenceNode {
		t.Legacy = true
		t.Members = d.members(dn)
		return t
	} else if dn != nil && dn.Kind != yaml.MappingNode {
		d.errorf(dn, "team must be a mapping (or, deprecated, a list of members), got %s", describe(dn))
		return t
	}
	d.object(n, "team", fieldSet{
		"id":          func(v *yaml.Node) { d.stableID(v, "id", &t.ID) },
		"name":        func(v *yaml.Node) { d.str(v, "name", &t.Name) },
		"description": func(v *yaml.Node) { d.str(v, "description", &t.Description) },
		"members": func(v *yaml.Node) {
			if v = d.deref(v); v != nil && v.Kind != yaml.SequenceNode {
				d.errorf(v, "team members must be a list, got %s", describe(v))
				return
			}
			t.Members = d.members(v)
		},
		"tags": func(v *yaml.Node) { d.strList(v, "tags", &t.Tags) },
		"authoritativeDefinitions": func(v *yaml.Node) {
			t.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
		},
		"customProperties": func(v *yaml.Node) { t.CustomProperties = d.customProps(v, "customProperties") },
	})
	return t
}

func (d *nodes) members(n *yaml.Node) []*TeamMember {
	if n == nil {
		return nil
	}
	out := []*TeamMember{}
	for _, it := range n.Content {
		m := &TeamMember{}
		present := d.object(it, "team member", fieldSet{
			"id":                 func(v *yaml.Node) { d.stableID(v, "id", &m.ID) },
			"username":           func(v *yaml.Node) { d.str(v, "username", &m.Username) },
			"name":               func(v *yaml.Node) { d.str(v, "name", &m.Name) },
			"description":        func(v *yaml.Node) { d.str(v, "description", &m.Description) },
			"role":               func(v *yaml.Node) { d.str(v, "role", &m.Role) },
			"dateIn":             func(v *yaml.Node) { d.str(v, "dateIn", &m.DateIn) },
			"dateOut":            func(v *yaml.Node) { d.str(v, "dateOut", &m.DateOut) },
			"replacedByUsername": func(v *yaml.Node) { d.str(v, "replacedByUsername", &m.ReplacedByUsername) },
			"tags":               func(v *yaml.Node) { d.strList(v, "tags", &m.Tags) },
			"authoritativeDefinitions": func(v *yaml.Node) {
				m.AuthoritativeDefinitions = d.authDefs(v, "authoritativeDefinitions")
			},
			"customProperties": func(v *yaml.Node) { m.CustomProperties = d.customProps(v, "customProperties") },
		})
		d.require(it, "team member", present, "username")
		out = append(out, m)
	}
	return out
}

// scalarValue decodes a value that must not be a list or mapping.
func (d *nodes) scalarValue(n *yaml.Node, what string, dst *Any) {
	if n = d.deref(n); n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a string, number, boolean or null, got %s", what, describe(n))
		return
	}
	d.anyValue(n, dst)
}

func (d *nodes) slaProperty(n *yaml.Node) *SLAProperty {
	s := &SLAProperty{}
	present := d.object(n, "SLA property", fieldSet{
		"id":       func(v *yaml.Node) { d.stableID(v, "id", &s.ID) },
		"property": func(v *yaml.Node) { d.str(v, "property", &s.Property) },
		"value":    func(v *yaml.Node) { d.scalarValue(v, "SLA value", &s.Value) },
		"valueExt": func(v *yaml.Node) {
			s.ValueExt = &Any{}
			d.scalarValue(v, "SLA valueExt", s.ValueExt)
		},
		"unit":        func(v *yaml.Node) { d.str(v, "unit", &s.Unit) },
		"element":     func(v *yaml.Node) { d.str(v, "element", &s.Element) },
		"driver":      func(v *yaml.Node) { d.str(v, "driver", &s.Driver) },
		"description": func(v *yaml.Node) { d.str(v, "description", &s.Description) },
		"scheduler":   func(v *yaml.Node) { d.str(v, "scheduler", &s.Scheduler) },
		"schedule":    func(v *yaml.Node) { d.str(v, "schedule", &s.Schedule) },
	})
	d.require(n, "SLA property", present, "property", "value")
	return s
}
