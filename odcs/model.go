package odcs

import (
	"encoding/json"
	"sort"

	"gopkg.in/yaml.v3"
)

// Document is one ODCS data contract (v3.1.0, or v3.0.x which it is a superset of). The
// fields mirror the standard; Pos fields say where each element starts in the source file.
// Decode fills a Document strictly; the yaml tags serve Encode.
type Document struct {
	File string `yaml:"-"`
	Pos  `yaml:"-"`

	APIVersion               string                     `yaml:"apiVersion"`
	Kind                     string                     `yaml:"kind"`
	ID                       string                     `yaml:"id"`
	Name                     string                     `yaml:"name,omitempty"`
	Version                  string                     `yaml:"version"`
	Status                   string                     `yaml:"status"`
	Tenant                   string                     `yaml:"tenant,omitempty"`
	Domain                   string                     `yaml:"domain,omitempty"`
	DataProduct              string                     `yaml:"dataProduct,omitempty"`
	Tags                     []string                   `yaml:"tags,omitempty"`
	Description              *Description               `yaml:"description,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	Servers                  []*Server                  `yaml:"servers,omitempty"`
	Schema                   []*SchemaObject            `yaml:"schema,omitempty"`
	Support                  []*SupportItem             `yaml:"support,omitempty"`
	Price                    *Pricing                   `yaml:"price,omitempty"`
	Team                     *Team                      `yaml:"team,omitempty"`
	Roles                    []*Role                    `yaml:"roles,omitempty"`
	SLADefaultElement        string                     `yaml:"slaDefaultElement,omitempty"`
	SLAProperties            []*SLAProperty             `yaml:"slaProperties,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`
	ContractCreatedTs        string                     `yaml:"contractCreatedTs,omitempty"`

	// At says where each top-level key was written.
	At map[string]Pos `yaml:"-"`
}

// Description is the document's high-level description.
type Description struct {
	Usage                    string                     `yaml:"usage,omitempty"`
	Purpose                  string                     `yaml:"purpose,omitempty"`
	Limitations              string                     `yaml:"limitations,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`
}

// AuthoritativeDefinition links to an authoritative source (catalog entry, policy, ...).
type AuthoritativeDefinition struct {
	ID          string `yaml:"id,omitempty"`
	URL         string `yaml:"url"`
	Type        string `yaml:"type"`
	Description string `yaml:"description,omitempty"`
}

// CustomProperty is a free-form property/value pair.
type CustomProperty struct {
	Pos         `yaml:"-"`
	ID          string `yaml:"id,omitempty"`
	Property    string `yaml:"property"`
	Value       Any    `yaml:"value"`
	Description string `yaml:"description,omitempty"`
}

// Server is where the data lives. Attrs holds the type-specific fields (host, port,
// region, format, ...), each a string or, for port, an integer.
type Server struct {
	Pos              `yaml:"-"`
	ID               string            `yaml:"id,omitempty"`
	Server           string            `yaml:"server"`
	Type             string            `yaml:"type"`
	Description      string            `yaml:"description,omitempty"`
	Environment      string            `yaml:"environment,omitempty"`
	Roles            []*Role           `yaml:"roles,omitempty"`
	CustomProperties []*CustomProperty `yaml:"customProperties,omitempty"`
	Attrs            map[string]Any    `yaml:",inline"`
}

// Attr returns a type-specific string attribute ("" when absent).
func (s *Server) Attr(name string) string {
	if v, ok := s.Attrs[name]; ok {
		if str, ok := v.V.(string); ok {
			return str
		}
	}
	return ""
}

// SchemaObject is one element of the document's schema (a table, a topic, an event).
type SchemaObject struct {
	Pos                        `yaml:"-"`
	ID                         string                     `yaml:"id,omitempty"`
	Name                       string                     `yaml:"name"`
	PhysicalName               string                     `yaml:"physicalName,omitempty"`
	PhysicalType               string                     `yaml:"physicalType,omitempty"`
	LogicalType                string                     `yaml:"logicalType,omitempty"`
	BusinessName               string                     `yaml:"businessName,omitempty"`
	Description                string                     `yaml:"description,omitempty"`
	DataGranularityDescription string                     `yaml:"dataGranularityDescription,omitempty"`
	AuthoritativeDefinitions   []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	Tags                       []string                   `yaml:"tags,omitempty"`
	Properties                 []*Property                `yaml:"properties,omitempty"`
	Relationships              []*Relationship            `yaml:"relationships,omitempty"`
	Quality                    []*Quality                 `yaml:"quality,omitempty"`
	CustomProperties           []*CustomProperty          `yaml:"customProperties,omitempty"`
}

// Property is one property of a schema object, a nested property of an object property,
// or (with no Name) the item schema of an array property.
type Property struct {
	Pos                      `yaml:"-"`
	ID                       string                     `yaml:"id,omitempty"`
	Name                     string                     `yaml:"name,omitempty"`
	PhysicalName             string                     `yaml:"physicalName,omitempty"`
	PhysicalType             string                     `yaml:"physicalType,omitempty"`
	LogicalType              string                     `yaml:"logicalType,omitempty"`
	LogicalTypeOptions       *LogicalTypeOptions        `yaml:"logicalTypeOptions,omitempty"`
	BusinessName             string                     `yaml:"businessName,omitempty"`
	Description              string                     `yaml:"description,omitempty"`
	Required                 bool                       `yaml:"required,omitempty"`
	Unique                   bool                       `yaml:"unique,omitempty"`
	PrimaryKey               bool                       `yaml:"primaryKey,omitempty"`
	PrimaryKeyPosition       *int64                     `yaml:"primaryKeyPosition,omitempty"`
	Partitioned              bool                       `yaml:"partitioned,omitempty"`
	PartitionKeyPosition     *int64                     `yaml:"partitionKeyPosition,omitempty"`
	Classification           string                     `yaml:"classification,omitempty"`
	EncryptedName            string                     `yaml:"encryptedName,omitempty"`
	CriticalDataElement      bool                       `yaml:"criticalDataElement,omitempty"`
	TransformSourceObjects   []string                   `yaml:"transformSourceObjects,omitempty"`
	TransformLogic           string                     `yaml:"transformLogic,omitempty"`
	TransformDescription     string                     `yaml:"transformDescription,omitempty"`
	Examples                 []Any                      `yaml:"examples,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	Tags                     []string                   `yaml:"tags,omitempty"`
	Properties               []*Property                `yaml:"properties,omitempty"`
	Items                    *Property                  `yaml:"items,omitempty"`
	Relationships            []*Relationship            `yaml:"relationships,omitempty"`
	Quality                  []*Quality                 `yaml:"quality,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`

	// RequiredPos is where `required` was written (zero when it was not).
	RequiredPos Pos `yaml:"-"`
	// At says where each key of the property was written.
	At map[string]Pos `yaml:"-"`
}

// Key is the property's key in an event: its physicalName when it has one (what the
// producer writes), else its name.
func (p *Property) Key() string {
	if p.PhysicalName != "" {
		return p.PhysicalName
	}
	return p.Name
}

// LogicalTypeOptions are the constraints of a logicalType. Which fields are allowed
// depends on the logicalType: string (MinLength, MaxLength, Pattern, Format); date
// (Format and the four limits, as strings); timestamp and time (those plus Timezone and
// DefaultTimezone); integer and number (MultipleOf, the limits as numbers, Format);
// object (MinProperties, MaxProperties, Required); array (MinItems, MaxItems, UniqueItems).
type LogicalTypeOptions struct {
	Pos              `yaml:"-"`
	MinLength        *int64   `yaml:"minLength,omitempty"`
	MaxLength        *int64   `yaml:"maxLength,omitempty"`
	Pattern          string   `yaml:"pattern,omitempty"`
	Format           string   `yaml:"format,omitempty"`
	Minimum          *Any     `yaml:"minimum,omitempty"`
	ExclusiveMinimum *Any     `yaml:"exclusiveMinimum,omitempty"`
	Maximum          *Any     `yaml:"maximum,omitempty"`
	ExclusiveMaximum *Any     `yaml:"exclusiveMaximum,omitempty"`
	MultipleOf       *Any     `yaml:"multipleOf,omitempty"`
	Timezone         *bool    `yaml:"timezone,omitempty"`
	DefaultTimezone  string   `yaml:"defaultTimezone,omitempty"`
	MinProperties    *int64   `yaml:"minProperties,omitempty"`
	MaxProperties    *int64   `yaml:"maxProperties,omitempty"`
	Required         []string `yaml:"required,omitempty"`
	MinItems         *int64   `yaml:"minItems,omitempty"`
	MaxItems         *int64   `yaml:"maxItems,omitempty"`
	UniqueItems      *bool    `yaml:"uniqueItems,omitempty"`

	// At says where each option was written, for rule positions.
	At map[string]Pos `yaml:"-"`
}

// Relationship is a foreign-key relationship. At schema level From and To are both given
// (both strings, or both lists of the same shape); at property level only To.
type Relationship struct {
	Type             string            `yaml:"type,omitempty"`
	From             *Any              `yaml:"from,omitempty"`
	To               *Any              `yaml:"to,omitempty"`
	CustomProperties []*CustomProperty `yaml:"customProperties,omitempty"`
}

// Quality is one data-quality entry. Type is text, library, sql or custom; when it is
// absent the standard's default is library if Metric is set.
type Quality struct {
	Pos                      `yaml:"-"`
	ID                       string                     `yaml:"id,omitempty"`
	Name                     string                     `yaml:"name,omitempty"`
	Type                     string                     `yaml:"type,omitempty"`
	Description              string                     `yaml:"description,omitempty"`
	Dimension                string                     `yaml:"dimension,omitempty"`
	Method                   string                     `yaml:"method,omitempty"`
	Severity                 string                     `yaml:"severity,omitempty"`
	BusinessImpact           string                     `yaml:"businessImpact,omitempty"`
	Unit                     string                     `yaml:"unit,omitempty"`
	Schedule                 string                     `yaml:"schedule,omitempty"`
	Scheduler                string                     `yaml:"scheduler,omitempty"`
	Tags                     []string                   `yaml:"tags,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`

	// library
	Metric    string         `yaml:"metric,omitempty"`
	Rule      string         `yaml:"rule,omitempty"`
	Arguments map[string]Any `yaml:"arguments,omitempty"`
	// sql
	Query string `yaml:"query,omitempty"`
	// custom
	Engine         string `yaml:"engine,omitempty"`
	Implementation *Any   `yaml:"implementation,omitempty"`

	// Operator is the one comparison of a library or sql entry (mustBe, mustBeLessThan,
	// ...), with its operand in Operand.
	Operator string `yaml:"-"`
	Operand  Any    `yaml:"-"`

	// ArgPos says where each argument was written.
	ArgPos map[string]Pos `yaml:"-"`

	// node is the entry as written (for expression positions); nil when built in code.
	node *yaml.Node
}

// Operators are the comparison keys of library and sql quality entries.
var Operators = []string{"mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo",
	"mustBeLessThan", "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween"}

// MarshalYAML writes the operator beside the other fields.
func (q *Quality) MarshalYAML() (any, error) {
	type plain Quality
	n := &yaml.Node{}
	if err := n.Encode((*plain)(q)); err != nil {
		return nil, err
	}
	if q.Operator != "" {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: q.Operator}, jsonNode(q.Operand.V))
	}
	return n, nil
}

// SupportItem is one support channel.
type SupportItem struct {
	ID               string            `yaml:"id,omitempty"`
	Channel          string            `yaml:"channel"`
	URL              string            `yaml:"url,omitempty"`
	Description      string            `yaml:"description,omitempty"`
	Tool             string            `yaml:"tool,omitempty"`
	Scope            string            `yaml:"scope,omitempty"`
	InvitationURL    string            `yaml:"invitationUrl,omitempty"`
	CustomProperties []*CustomProperty `yaml:"customProperties,omitempty"`
}

// Pricing is the data product's price.
type Pricing struct {
	ID            string `yaml:"id,omitempty"`
	PriceAmount   *Any   `yaml:"priceAmount,omitempty"`
	PriceCurrency string `yaml:"priceCurrency,omitempty"`
	PriceUnit     string `yaml:"priceUnit,omitempty"`
}

// Team is the owning team. Legacy marks the deprecated v3.0 form, a bare list of members.
type Team struct {
	ID                       string                     `yaml:"id,omitempty"`
	Name                     string                     `yaml:"name,omitempty"`
	Description              string                     `yaml:"description,omitempty"`
	Members                  []*TeamMember              `yaml:"members,omitempty"`
	Tags                     []string                   `yaml:"tags,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`
	Legacy                   bool                       `yaml:"-"`
}

// MarshalYAML writes the legacy form as a list.
func (t *Team) MarshalYAML() (any, error) {
	if t.Legacy {
		return t.Members, nil
	}
	type plain Team
	return (*plain)(t), nil
}

// TeamMember is one member of the team.
type TeamMember struct {
	ID                       string                     `yaml:"id,omitempty"`
	Username                 string                     `yaml:"username"`
	Name                     string                     `yaml:"name,omitempty"`
	Description              string                     `yaml:"description,omitempty"`
	Role                     string                     `yaml:"role,omitempty"`
	DateIn                   string                     `yaml:"dateIn,omitempty"`
	DateOut                  string                     `yaml:"dateOut,omitempty"`
	ReplacedByUsername       string                     `yaml:"replacedByUsername,omitempty"`
	Tags                     []string                   `yaml:"tags,omitempty"`
	AuthoritativeDefinitions []*AuthoritativeDefinition `yaml:"authoritativeDefinitions,omitempty"`
	CustomProperties         []*CustomProperty          `yaml:"customProperties,omitempty"`
}

// Role is an access role.
type Role struct {
	ID                   string            `yaml:"id,omitempty"`
	Role                 string            `yaml:"role"`
	Description          string            `yaml:"description,omitempty"`
	Access               string            `yaml:"access,omitempty"`
	FirstLevelApprovers  string            `yaml:"firstLevelApprovers,omitempty"`
	SecondLevelApprovers string            `yaml:"secondLevelApprovers,omitempty"`
	CustomProperties     []*CustomProperty `yaml:"customProperties,omitempty"`
}

// SLAProperty is one service-level agreement property.
type SLAProperty struct {
	ID          string `yaml:"id,omitempty"`
	Property    string `yaml:"property"`
	Value       Any    `yaml:"value"`
	ValueExt    *Any   `yaml:"valueExt,omitempty"`
	Unit        string `yaml:"unit,omitempty"`
	Element     string `yaml:"element,omitempty"`
	Driver      string `yaml:"driver,omitempty"`
	Description string `yaml:"description,omitempty"`
	Scheduler   string `yaml:"scheduler,omitempty"`
	Schedule    string `yaml:"schedule,omitempty"`
}

// Any is a JSON value taken from a document: map[string]any, []any, string,
// json.Number, bool or nil.
type Any struct{ V any }

// MarshalYAML writes the value with numbers as YAML numbers.
func (a Any) MarshalYAML() (any, error) { return jsonNode(a.V), nil }

// jsonNode renders a JSON value as a YAML node.
func jsonNode(v any) *yaml.Node {
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		if x {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "false"}
	case json.Number:
		tag := "!!float"
		if _, err := x.Int64(); err == nil {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(x)}
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, jsonNode(e))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, jsonNode(x[k]))
		}
		return n
	}
	n := &yaml.Node{}
	_ = n.Encode(v)
	return n
}
