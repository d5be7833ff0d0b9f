package rules

import (
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// This file holds the source-neutral contract model. Every contract format (the native YAML of
// load_yaml.go, ODCS documents, ...) is parsed into a *Spec, and compile.go turns a Spec into a
// runnable Contract or Policy. A Spec is plain data with a source position on every node, so
// that compile errors (an expression that does not type-check, an unknown lookup table, a
// duplicate rule name) point at the line a human wrote, whatever the format.

// Pos is a position in a source file: 1-based line and 1-based column counted in runes
// (a tab counts as one column), as gopkg.in/yaml.v3 reports them. The zero Pos means "unknown".
type Pos struct {
	File string
	Line int
	Col  int
}

// IsZero reports whether p is unknown.
func (p Pos) IsZero() bool { return p.Line == 0 }

// Str is a string value with the position it was read from.
type Str struct {
	Value string
	Pos   Pos
}

// ExprStyle tells how an expression was written in its source file, so that a column inside
// the expression (where expr reports an error) can be mapped back to a file position.
type ExprStyle uint8

const (
	// StylePlain: the expression's text starts at Pos exactly (a plain YAML scalar). A plain
	// scalar folded over several lines is handled too.
	StylePlain ExprStyle = iota
	// StyleSingleQuoted: Pos is the opening quote ('...'), '' stands for '.
	StyleSingleQuoted
	// StyleDoubleQuoted: Pos is the opening quote ("..."), with backslash escapes.
	StyleDoubleQuoted
	// StyleLiteral: Pos is the block indicator (|); the text starts on the next line.
	StyleLiteral
	// StyleFolded: Pos is the block indicator (>); the text starts on the next line.
	StyleFolded
	// StyleGenerated: the text was derived (e.g. from a field declaration) and does not occur
	// in the file; every error inside it is reported at Pos.
	StyleGenerated
)

// Expr is one expression (github.com/expr-lang/expr syntax) and where it was written.
// The zero Expr means "absent".
type Expr struct {
	Src   string
	Pos   Pos
	Style ExprStyle
}

// IsZero reports whether the expression is absent.
func (e Expr) IsZero() bool { return e.Src == "" && e.Pos.IsZero() }

// ExprFromNode returns the expression held by a YAML scalar node of file, with its style.
func ExprFromNode(file string, n *yaml.Node) Expr {
	e := Expr{Src: n.Value, Pos: Pos{File: file, Line: n.Line, Col: n.Column}}
	switch {
	case n.Style&yaml.LiteralStyle != 0:
		e.Style = StyleLiteral
	case n.Style&yaml.FoldedStyle != 0:
		e.Style = StyleFolded
	case n.Style&yaml.DoubleQuotedStyle != 0:
		e.Style = StyleDoubleQuoted
	case n.Style&yaml.SingleQuotedStyle != 0:
		e.Style = StyleSingleQuoted
	default:
		e.Style = StylePlain
	}
	return e
}

// GeneratedExpr returns an expression derived from a declaration at pos.
func GeneratedExpr(src string, pos Pos) Expr {
	return Expr{Src: src, Pos: pos, Style: StyleGenerated}
}

// SpecKind says whether a Spec is a domain contract or a global policy.
type SpecKind uint8

const (
	// KindContract is a domain contract: it judges the events of its source streams.
	KindContract SpecKind = iota
	// KindPolicy is a global policy: its rules run before the rules of the domains it applies to.
	KindPolicy
)

// Stages of a contract.
const (
	// StageActive routes events: good ones to the curated stream, bad ones to quarantine.
	StageActive = "active"
	// StageShadow runs beside the active contract of the same domain without routing anything.
	StageShadow = "shadow"
)

// Spec is one contract or policy as written, before compilation.
type Spec struct {
	// File is the path of the source file as given to Load (joined with the directory).
	File string
	// Format names the parser that produced the Spec: "yaml" for native files, "odcs", ...
	Format string
	Kind   SpecKind
	// Pos is the position of the document itself (where whole-document errors point).
	Pos Pos

	// Name is the domain of a contract or the name of a policy.
	Name        Str
	Version     Str
	Owner       Str
	Description string
	// Stage is StageActive (the default when empty) or StageShadow. Contracts only.
	Stage Str
	// Sources are the raw streams the contract judges. Contracts only.
	Sources []Str
	// Curated is the stream good events go to. Contracts only.
	Curated Str
	// AppliesTo lists the domains a policy applies to; "*" means every domain. Policies only.
	AppliesTo []Str
	// PartitionKey computes the output partition key; absent keeps the source record's key.
	PartitionKey Expr
	// Event says how to read envelope facts from an event. Contracts only.
	Event SpecEvent

	// Fields declares event fields. Declared types type-check expressions; each constraint
	// (required, type, format, enum, ranges, lengths, pattern, array sizes, uniqueness)
	// becomes a derived rule named FieldRulePrefix + path + "." + facet, e.g. "order_id.required".
	Fields []SpecField
	// FieldRulePrefix is prepended to the names of rules derived from Fields.
	FieldRulePrefix string

	Lookups []SpecLookup
	Rules   []SpecRule
	// Enrich steps run in order on events that pass (or only warn). Contracts only.
	Enrich []SpecStep

	// Notes are non-fatal remarks for `meshgate lint` (e.g. parts of a foreign format that are
	// not enforced on the stream). They never stop a Load.
	Notes []Note

	// Includes are the other files the spec was read from, with their content (e.g. the
	// binding file beside an ODCS document). They count in the contract's and the set's
	// hashes, and error snippets can quote them.
	Includes map[string][]byte
}

// SpecEvent holds the expressions that read an event's envelope facts. Each may be absent.
type SpecEvent struct {
	Type          Expr
	SchemaVersion Expr
	// Time yields an RFC 3339 string or a number of epoch milliseconds.
	Time Expr
}

// Field types understood in SpecField.Type.
const (
	TypeString    = "string"
	TypeNumber    = "number"
	TypeInteger   = "integer"
	TypeBoolean   = "boolean"
	TypeObject    = "object"
	TypeArray     = "array"
	TypeTimestamp = "timestamp" // an ISO-8601 / RFC 3339 date-time string
	TypeDate      = "date"      // a YYYY-MM-DD string
	TypeAny       = "any"
)

// Formats understood in SpecField.Format.
const (
	FormatUUID      = "uuid"
	FormatEmail     = "email"
	FormatTimestamp = "timestamp" // also accepted: "date-time", "iso8601"
	FormatDate      = "date"
)

// SpecField declares one field. Path is relative to the enclosing object (the event for
// top-level fields, an array element for SpecField.Items). Pointers and empty values mean
// "not declared".
type SpecField struct {
	// Name is the field's key; Name.Pos is where the declaration starts.
	Name        Str
	Type        Str
	Required    bool
	RequiredPos Pos
	Format      Str
	Enum        []any
	EnumPos     Pos
	Pattern     Str
	Minimum     *Bound
	Maximum     *Bound
	MinLength   *IntFacet
	MaxLength   *IntFacet
	MinItems    *IntFacet
	MaxItems    *IntFacet
	UniqueItems bool
	UniquePos   Pos
	// Fields are the properties of an object field.
	Fields []SpecField
	// Items describes the elements of an array field (its Name is ignored).
	Items *SpecField
}

// Bound is a numeric range limit.
type Bound struct {
	Value     float64
	Exclusive bool
	Pos       Pos
}

// IntFacet is an integer-valued constraint (a length or a size).
type IntFacet struct {
	Value int
	Pos   Pos
}

// SpecLookup declares a lookup table read from a CSV or JSON file.
//
// CSV: the first row is the header; Key and Value name columns. JSON: either an object
// {"key": value, ...} (Key and Value empty) or an array of objects whose Key and Value
// properties give each entry.
type SpecLookup struct {
	Name Str
	// File is relative to the directory of the spec's file.
	File  Str
	Key   Str
	Value Str
}

// SpecRule is one validation rule: a Check on each event, or a Unique key remembered across
// events (exactly one of them).
type SpecRule struct {
	Name Str
	// When is an optional guard; the rule is skipped for events where it is false.
	When  Expr
	Check Expr
	// Unique, when set, makes the rule a uniqueness rule instead of a check: an event fails
	// it when another record with the same key was judged within the window (see unique.go).
	Unique *SpecUnique
	// Severity is "error" (the default when empty) or "warn"; a unique rule is always warn
	// (empty means warn, "error" is a compile error).
	Severity Str
	Message  Str
	// Pos is where the rule's declaration starts.
	Pos Pos
}

// SpecUnique is the key of a uniqueness rule and how long and how many keys are remembered.
type SpecUnique struct {
	// Pos is where the unique: declaration is (errors about it as a whole point here).
	Pos Pos
	// Key are the expressions whose values together form the key; an event with a nil
	// component is not checked.
	Key []Expr
	// Window is a duration ("1h", "30m", "7d"); empty means DefaultUniqueWindow.
	Window Str
	// MaxKeys bounds the keys remembered; nil means DefaultUniqueMaxKeys.
	MaxKeys *IntFacet
}

// Enrichment operations (SpecStep.Op).
const (
	OpSet       = "set"
	OpRename    = "rename"
	OpDrop      = "drop"
	OpRedact    = "redact"
	OpHash      = "hash"
	OpNormalize = "normalize"
	OpMetadata  = "metadata"
)

// SpecStep is one enrichment step.
//
//	set:       Path = Value
//	rename:    Path -> To
//	drop:      Path
//	redact:    Path (replaced by "[REDACTED]")
//	hash:      Path (hex sha256 of salt+value)
//	normalize: Path with Norm trim|lower|upper
//	metadata:  Path = {"contract","version","processedAt"}
//
// Paths are dotted ("payment.card_number").
type SpecStep struct {
	Op    string
	Pos   Pos
	Path  Str
	To    Str
	Value Expr
	Norm  Str
}

// Note is a non-fatal remark about a source file.
type Note struct {
	Pos Pos
	Msg string
}

func (n Note) String() string { return posString(n.Pos) + ": " + n.Msg }

// FormatParser parses one file of a registered format. data is the file's content. It returns
// the Spec the file describes, or a nil Spec when the file contributes nothing on its own
// (e.g. a side file read by another document's parser). Errors need only File, Line, Col and
// Msg; Load fills in the source snippets.
type FormatParser func(file string, data []byte) (*Spec, ErrorList)

var formats struct {
	sync.RWMutex
	bySuffix map[string]FormatParser
}

// RegisterFormat makes Load parse files whose names end in suffix (e.g. ".odcs.yaml") with
// parse instead of the native YAML parser. The longest matching suffix wins. It is meant to
// be called from init functions; registering a suffix twice replaces the earlier parser.
func RegisterFormat(suffix string, parse FormatParser) {
	formats.Lock()
	defer formats.Unlock()
	if formats.bySuffix == nil {
		formats.bySuffix = map[string]FormatParser{}
	}
	formats.bySuffix[suffix] = parse
}

// formatFor returns the registered parser for name, if any.
func formatFor(name string) (FormatParser, bool) {
	formats.RLock()
	defer formats.RUnlock()
	suffixes := make([]string, 0, len(formats.bySuffix))
	for s := range formats.bySuffix {
		suffixes = append(suffixes, s)
	}
	sort.Slice(suffixes, func(i, j int) bool { return len(suffixes[i]) > len(suffixes[j]) })
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return formats.bySuffix[s], true
		}
	}
	return nil, false
}
