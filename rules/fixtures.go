package rules

import (
	"strings"
	"time"

	"github.com/meshgate/meshgate/jsonx"
	"gopkg.in/yaml.v3"
)

// Expected outcomes of a fixture case.
const (
	ExpectPass       = "pass"
	ExpectWarn       = "warn"
	ExpectQuarantine = "quarantine"
)

// FixtureFile is one *.test.yaml file: cases judged by one contract.
type FixtureFile struct {
	File string
	// Contract is the domain of the contract the cases are judged by.
	Contract string
	// Stage selects the active (default) or the shadow contract of the domain.
	Stage string
	Pos   Pos
	Cases []FixtureCase
}

// FixtureCase is one input event and what the contract must do with it.
type FixtureCase struct {
	Name string
	Pos  Pos
	// Data is the record's exact bytes (from raw:, or event: rendered as JSON).
	Data []byte
	// Now is the judging time; zero means the wall clock at run time.
	Now          time.Time
	PartitionKey string
	// Expect is ExpectPass, ExpectWarn or ExpectQuarantine.
	Expect string
	// Failures is the exact set of rules that must fail, when HasFailures.
	Failures    []string
	HasFailures bool
	// Decode is the expected decode failure reason, if any.
	Decode string
	// Enriched are expected values in the output, by dotted path.
	Enriched []FieldExpect
	// Absent are dotted paths that must not be in the output.
	Absent []string
	// After are the indices (in the file) of the cases whose events are judged, in this
	// order, right before this one, with the same memory of unique rules. Each case starts
	// with empty memories: `after:` is how a case says what was seen before it.
	After []int

	afterNames []Str
}

// In a case, with: {dotted.path: value} and without: [dotted.path] edit the event: given as
// event: *anchor they let each case state only how it differs from a valid event.

// FieldExpect is one expected output value.
type FieldExpect struct {
	Path  string
	Value any
	Pos   Pos
}

var (
	fixtureFileKeys = []string{"contract", "stage", "now", "partitionKey", "cases"}
	fixtureCaseKeys = []string{"name", "description", "now", "partitionKey", "event", "raw", "expect",
		"with", "without", "failures", "decode", "enriched", "absent", "after"}
)

// parseFixtures parses one fixture file and checks it against the set's contracts.
func (l *loader) parseFixtures(file string, data []byte, s *Set) (FixtureFile, bool) {
	d := &ynode{file: file}
	ff := FixtureFile{File: file, Stage: StageActive}
	root := d.parseDoc(data)
	if root == nil {
		l.cc.errs = append(l.cc.errs, d.errs...)
		return ff, false
	}
	ff.Pos = d.pos(root)
	var (
		contractNode *yaml.Node
		casesNode    *yaml.Node
		defNow       time.Time
		defKey       string
	)
	seen := d.fields(root, "fixture file", fixtureFileKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "contract":
			ff.Contract = d.nonEmpty(v, key).Value
			contractNode = v
		case "stage":
			ff.Stage = d.str(v, key).Value
			if ff.Stage != StageActive && ff.Stage != StageShadow && d.scalar(v, key) {
				d.errorf(v, "stage must be %q or %q, got %q", StageActive, StageShadow, ff.Stage)
			}
		case "now":
			defNow = d.timestamp(v, key)
		case "partitionKey":
			defKey = d.str(v, key).Value
		case "cases":
			casesNode = v
		}
	})
	d.require(root, "fixture file", seen, "contract", "cases")
	var c *Contract
	if contractNode != nil && ff.Contract != "" {
		if ff.Stage == StageShadow {
			c = s.Shadow(ff.Contract)
		} else {
			c = s.ByDomain(ff.Contract)
		}
		if c == nil && !l.domainFailed(ff.Contract) {
			d.errorf(contractNode, "no %s contract for domain %q", ff.Stage, ff.Contract)
		}
	}
	var ruleNames map[string]bool
	if c != nil {
		ruleNames = map[string]bool{}
		for _, r := range c.rules {
			ruleNames[r.name] = true
		}
	}
	if casesNode != nil {
		if casesNode.Kind != yaml.SequenceNode {
			d.errorf(casesNode, "cases must be a list, got %s", kindName(casesNode))
		} else {
			names := map[string]bool{}
			for _, cn := range casesNode.Content {
				cn = deref(cn)
				fc := d.parseCase(cn, defNow, defKey, ruleNames)
				if fc.Name != "" {
					if names[fc.Name] {
						d.errorf(cn, "duplicate case name %q", fc.Name)
					}
					names[fc.Name] = true
				}
				ff.Cases = append(ff.Cases, fc)
			}
			byName := map[string]int{}
			for i, fc := range ff.Cases {
				byName[fc.Name] = i
			}
			for i := range ff.Cases {
				fc := &ff.Cases[i]
				for _, a := range fc.afterNames {
					j, ok := byName[a.Value]
					switch {
					case !ok:
						d.errs.Add(a.Pos, "after: no case %q in this file", a.Value)
					case j == i:
						d.errs.Add(a.Pos, "after: case %q cannot follow itself", a.Value)
					default:
						fc.After = append(fc.After, j)
					}
				}
			}
		}
	}
	l.cc.errs = append(l.cc.errs, d.errs...)
	return ff, len(d.errs) == 0 && c != nil
}

// domainFailed reports whether a contract of domain was parsed but did not compile (its
// errors are already reported; a fixture pointing at it is not a second problem).
func (l *loader) domainFailed(domain string) bool {
	for _, sp := range l.specs {
		if sp.Kind == KindContract && sp.Name.Value == domain {
			return true
		}
	}
	return false
}

func (d *ynode) timestamp(v *yaml.Node, key string) time.Time {
	if v.Kind == yaml.ScalarNode {
		if t, ok := parseTimestamp(v.Value); ok {
			return t
		}
	}
	d.errorf(v, "%s must be an RFC 3339 timestamp like 2025-01-15T12:00:00Z", key)
	return time.Time{}
}

func (d *ynode) parseCase(n *yaml.Node, defNow time.Time, defKey string, ruleNames map[string]bool) FixtureCase {
	fc := FixtureCase{Pos: d.pos(n), Now: defNow, PartitionKey: defKey}
	var hasEvent, hasRaw, hasExpect bool
	var edits jsonx.Patch
	var editNode *yaml.Node
	seen := d.fields(n, "case", fixtureCaseKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			fc.Name = d.nonEmpty(v, key).Value
		case "description":
			d.str(v, key)
		case "now":
			fc.Now = d.timestamp(v, key)
		case "partitionKey":
			fc.PartitionKey = d.str(v, key).Value
		case "event":
			hasEvent = true
			if v.Kind != yaml.MappingNode {
				d.errorf(v, "event must be a mapping (use raw: for other payloads), got %s", kindName(v))
				return
			}
			fc.Data = d.jsonFromNode(nil, v)
		case "raw":
			hasRaw = true
			if d.scalar(v, key) {
				fc.Data = []byte(v.Value)
			} else if v.Tag == "!!null" {
				fc.Data = []byte{}
			}
		case "expect":
			hasExpect = true
			fc.Expect = d.str(v, key).Value
			if fc.Expect != ExpectPass && fc.Expect != ExpectWarn && fc.Expect != ExpectQuarantine && d.scalar(v, key) {
				d.errorf(v, "expect must be %s, %s or %s, got %q", ExpectPass, ExpectWarn, ExpectQuarantine, fc.Expect)
			}
		case "failures":
			fc.HasFailures = true
			fc.Failures = []string{}
			if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
				return
			}
			for _, s := range d.strList(v, key) {
				if ruleNames != nil && !ruleNames[s.Value] && s.Value != "enrich" {
					d.errs.Add(s.Pos, "unknown rule %q", s.Value)
				}
				fc.Failures = append(fc.Failures, s.Value)
			}
		case "decode":
			fc.Decode = d.str(v, key).Value
			if !contains(jsonx.Reasons, fc.Decode) && d.scalar(v, key) {
				d.errorf(v, "unknown decode reason %q (known: %s)", fc.Decode, strings.Join(jsonx.Reasons, ", "))
			}
		case "enriched":
			if v.Kind != yaml.MappingNode {
				d.errorf(v, "enriched must be a mapping of dotted path to value, got %s", kindName(v))
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				kn := v.Content[i]
				fc.Enriched = append(fc.Enriched, FieldExpect{Path: kn.Value, Value: d.value(v.Content[i+1]), Pos: d.pos(kn)})
			}
		case "with":
			editNode = k
			if v.Kind != yaml.MappingNode {
				d.errorf(v, "with must be a mapping of dotted path to value, got %s", kindName(v))
				return
			}
			for i := 0; i+1 < len(v.Content); i += 2 {
				edits.Set(strings.Split(v.Content[i].Value, "."), d.value(v.Content[i+1]))
			}
		case "without":
			editNode = k
			for _, s := range d.strList(v, key) {
				edits.Delete(strings.Split(s.Value, "."))
			}
		case "absent":
			for _, s := range d.strList(v, key) {
				fc.Absent = append(fc.Absent, s.Value)
			}
		case "after":
			fc.afterNames = d.strList(v, key)
		}
	})
	if seen == nil {
		return fc
	}
	d.require(n, "case", seen, "name")
	switch {
	case hasEvent && hasRaw:
		d.errorf(n, "case %q has both event and raw", fc.Name)
	case !hasEvent && !hasRaw:
		d.errorf(n, "case %q needs event or raw", fc.Name)
	}
	if editNode != nil {
		if !hasEvent {
			d.errorf(editNode, "case %q: with and without edit an event: given, not raw:", fc.Name)
		} else if fc.Data != nil {
			out, err := jsonx.Apply(fc.Data, &edits)
			if err != nil {
				d.errorf(editNode, "case %q: %v", fc.Name, err)
			} else {
				fc.Data = out
			}
		}
	}
	if fc.Decode != "" {
		if hasExpect && fc.Expect != ExpectQuarantine {
			d.errorf(n, "case %q: a decode failure is always quarantined", fc.Name)
		}
		fc.Expect = ExpectQuarantine
	} else if !hasExpect {
		d.errorf(n, "case %q: missing required key \"expect\"", fc.Name)
	}
	return fc
}
