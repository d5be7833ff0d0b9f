// Package contractdiff compares two contract sets — typically two git checkouts of a
// contracts directory — and says what a change means for the two sides of a domain's data
// product (`meshgate diff OLD NEW`):
//
//   - for producers writing the raw stream, each change is tightening (some event the old
//     contract routed to the curated stream is now quarantined), loosening (the reverse),
//     neutral (routing is unaffected), or unknown (a rule expression changed and meshgate
//     cannot tell the direction statically; a sample tells: Sample);
//   - for consumers of the curated stream, each change is breaking or non-breaking. Breaking
//     means a consumer of the old curated events can be surprised: an output field removed or
//     renamed, its type, format or value form changed (hash, redact), a value it could rely
//     on widened (a new enum value, a wider range, may now be null or absent), an enrichment
//     output no longer produced, or the curated stream itself moved. Consumer changes are
//     found by comparing the JSON Schemas package schema exports for the two versions, and the
//     enrichment steps.
//
// With a sample of real events (Sample) both sets re-judge every event and the report says
// how many change verdict, by rule, with examples.
package contractdiff

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/meshgate/meshgate/rules"
)

// Impacts.
const (
	Tightening = "tightening"
	Loosening  = "loosening"
	Neutral    = "neutral"
	Unknown    = "unknown"

	Breaking    = "breaking"
	NonBreaking = "non-breaking"
)

// Audiences of a change.
const (
	Producers = "producers"
	Consumers = "consumers"
)

// Change is one difference between the old and the new contract of a domain, as it
// matters to one audience.
type Change struct {
	Domain string `json:"domain"`
	// Audience is Producers (Impact: tightening, loosening, neutral, unknown) or Consumers
	// (Impact: breaking, non-breaking).
	Audience string `json:"audience"`
	Impact   string `json:"impact"`
	// Kind is contract, rule, field, enrichment or output.
	Kind string `json:"kind"`
	// Subject is what changed: a rule name, a field path, an enrichment step.
	Subject string `json:"subject"`
	// What says it in words.
	What string `json:"what"`
	// Evidence is filled in from a sample: "12 of 500 sampled events newly fail it".
	Evidence string `json:"evidence,omitempty"`
}

// DomainDiff is every change of one domain.
type DomainDiff struct {
	Domain     string   `json:"domain"`
	OldVersion string   `json:"oldVersion,omitempty"`
	NewVersion string   `json:"newVersion,omitempty"`
	Curated    string   `json:"curated,omitempty"`
	Changes    []Change `json:"changes"`
}

// Compare returns the domains whose active contracts differ between old and new, sorted
// by domain, each with its changes (producers first, then consumers).
func Compare(old, cur *rules.Set) []DomainDiff {
	domains := map[string]bool{}
	for _, c := range old.Contracts() {
		domains[c.Domain] = true
	}
	for _, c := range cur.Contracts() {
		domains[c.Domain] = true
	}
	var out []DomainDiff
	for _, d := range sortedKeys(domains) {
		dd := compareDomain(d, old.ByDomain(d), cur.ByDomain(d))
		if len(dd.Changes) > 0 {
			out = append(out, dd)
		}
	}
	return out
}

func compareDomain(domain string, o, n *rules.Contract) DomainDiff {
	dd := DomainDiff{Domain: domain}
	add := func(audience, impact, kind, subject, what string) {
		dd.Changes = append(dd.Changes, Change{Domain: domain, Audience: audience, Impact: impact, Kind: kind, Subject: subject, What: what})
	}
	switch {
	case o == nil:
		dd.NewVersion, dd.Curated = n.Version, n.Curated
		add(Producers, Neutral, "contract", domain, fmt.Sprintf("new contract %s %s judging %s", domain, n.Version, strings.Join(n.Sources, ", ")))
		add(Consumers, NonBreaking, "contract", domain, fmt.Sprintf("new curated stream %s", n.Curated))
		return dd
	case n == nil:
		dd.OldVersion, dd.Curated = o.Version, o.Curated
		add(Producers, Tightening, "contract", domain, fmt.Sprintf("contract %s %s removed: events of %s have no contract (a worker refuses such a reload; replayed or checked events are quarantined)", domain, o.Version, strings.Join(o.Sources, ", ")))
		add(Consumers, Breaking, "contract", domain, fmt.Sprintf("curated stream %s is no longer fed", o.Curated))
		return dd
	}
	dd.OldVersion, dd.NewVersion, dd.Curated = o.Version, n.Version, n.Curated
	if fingerprint(o) == fingerprint(n) {
		return dd
	}
	if o.Version == n.Version {
		add(Producers, Neutral, "contract", "version", fmt.Sprintf("the contract changed but its version is still %s", o.Version))
	}
	for _, s := range missing(o.Sources, n.Sources) {
		add(Producers, Tightening, "contract", "sources", fmt.Sprintf("stream %s is no longer judged by %s", s, domain))
	}
	for _, s := range missing(n.Sources, o.Sources) {
		add(Producers, Neutral, "contract", "sources", fmt.Sprintf("stream %s is now judged by %s", s, domain))
	}
	if o.Curated != n.Curated {
		add(Consumers, Breaking, "contract", "curated", fmt.Sprintf("curated stream moved from %s to %s", o.Curated, n.Curated))
	}
	if o.Spec.PartitionKey.Src != n.Spec.PartitionKey.Src {
		add(Consumers, NonBreaking, "contract", "partitionKey", fmt.Sprintf("curated partition key changed from %s to %s: events are ordered per the new key",
			orNone(o.Spec.PartitionKey.Src, "the source key"), orNone(n.Spec.PartitionKey.Src, "the source key")))
	}
	dd.Changes = append(dd.Changes, compareRules(domain, o, n)...)
	dd.Changes = append(dd.Changes, compareFields(domain, o.Spec.Fields, n.Spec.Fields)...)
	dd.Changes = append(dd.Changes, compareLookups(domain, o, n)...)
	dd.Changes = append(dd.Changes, compareOutput(domain, o, n)...)
	if len(dd.Changes) == 0 || (len(dd.Changes) == 1 && dd.Changes[0].Subject == "version") {
		add(Producers, Neutral, "contract", domain, "the contract's files changed without a change meshgate classifies (comments, descriptions, formatting, owner)")
	}
	sort.SliceStable(dd.Changes, func(i, j int) bool {
		return dd.Changes[i].Audience == Producers && dd.Changes[j].Audience != Producers
	})
	return dd
}

// fingerprint hashes what judges and enriches a domain's events — the contract file, the
// files it includes, its lookup tables and its policies' files — by content and relative
// name. (Contract.Hash covers the same but also the lookup tables' absolute paths, so it
// differs between two checkouts of the same files.)
func fingerprint(c *rules.Contract) string {
	h := sha256.New()
	file := func(name, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			data = []byte("unreadable: " + err.Error())
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	file("contract", c.File)
	for _, name := range sortedKeys(c.Spec.Includes) {
		fmt.Fprintf(h, "include %s\x00%d\x00", filepath.Base(name), len(c.Spec.Includes[name]))
		h.Write(c.Spec.Includes[name])
	}
	for _, l := range c.Spec.Lookups {
		path := l.File.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(c.File), path)
		}
		file("lookup "+l.Name.Value+" "+l.File.Value, path)
	}
	for _, p := range c.Policies {
		file("policy "+p.Name, p.File)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compareLookups reports lookup tables whose declaration or file content changed: a rule
// or an enrichment step reading them may judge or enrich differently.
func compareLookups(domain string, o, n *rules.Contract) []Change {
	read := func(c *rules.Contract, l rules.SpecLookup) string {
		path := l.File.Value
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(c.File), path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return "unreadable: " + err.Error()
		}
		return l.Key.Value + "\x00" + l.Value.Value + "\x00" + string(data)
	}
	old := map[string]string{}
	for _, l := range o.Spec.Lookups {
		old[l.Name.Value] = read(o, l)
	}
	var out []Change
	for _, l := range n.Spec.Lookups {
		prev, ok := old[l.Name.Value]
		delete(old, l.Name.Value)
		if ok && prev == read(n, l) {
			continue
		}
		what := "lookup table " + l.Name.Value + " changed (" + l.File.Value + ")"
		if !ok {
			what = "lookup table " + l.Name.Value + " added (" + l.File.Value + ")"
		}
		out = append(out, Change{Domain: domain, Audience: Producers, Impact: Unknown, Kind: "lookup", Subject: l.Name.Value,
			What: what + ": rules reading it may accept other values"})
	}
	for _, name := range sortedKeys(old) {
		out = append(out, Change{Domain: domain, Audience: Producers, Impact: Neutral, Kind: "lookup", Subject: name, What: "lookup table " + name + " removed"})
	}
	return out
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// missing returns the elements of a that b lacks.
func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// ruleDef is a rule as written, with the policy it comes from ("" for the contract's own).
type ruleDef struct {
	r      rules.SpecRule
	policy string
}

func ruleDefs(c *rules.Contract) (map[string]ruleDef, []string) {
	defs := map[string]ruleDef{}
	var order []string
	for _, p := range c.Policies {
		for _, r := range p.Spec.Rules {
			defs[r.Name.Value] = ruleDef{r, p.Name}
			order = append(order, r.Name.Value)
		}
	}
	for _, r := range c.Spec.Rules {
		defs[r.Name.Value] = ruleDef{r, ""}
		order = append(order, r.Name.Value)
	}
	return defs, order
}

func severity(r rules.SpecRule) string {
	if r.Unique != nil {
		return string(rules.SeverityWarn) // unique rules only warn
	}
	if r.Severity.Value == "" {
		return string(rules.SeverityError)
	}
	return r.Severity.Value
}

// checkSrc is what a rule checks: its check expression, or for a unique rule its key,
// window and maxKeys in the native syntax.
func checkSrc(r rules.SpecRule) string {
	u := r.Unique
	if u == nil {
		return r.Check.Src
	}
	keys := make([]string, len(u.Key))
	for i, k := range u.Key {
		keys[i] = norm(k.Src)
	}
	s := "unique {key: [" + strings.Join(keys, ", ") + "]"
	if u.Window.Value != "" {
		s += ", window: " + u.Window.Value
	}
	if u.MaxKeys != nil {
		s += fmt.Sprintf(", maxKeys: %d", u.MaxKeys.Value)
	}
	return s + "}"
}

// norm compacts an expression's white space for comparison.
func norm(src string) string { return strings.Join(strings.Fields(src), " ") }

// compareRules compares the rules written in policies and the contract (rules derived
// from field declarations are compared as fields).
func compareRules(domain string, o, n *rules.Contract) []Change {
	var out []Change
	add := func(impact, subject, what string) {
		out = append(out, Change{Domain: domain, Audience: Producers, Impact: impact, Kind: "rule", Subject: subject, What: what})
	}
	od, oorder := ruleDefs(o)
	nd, norder := ruleDefs(n)
	from := func(d ruleDef) string {
		if d.policy != "" {
			return " (policy " + d.policy + ")"
		}
		return ""
	}
	for _, name := range oorder {
		if _, ok := nd[name]; !ok {
			d := od[name]
			impact := Loosening
			if severity(d.r) == string(rules.SeverityWarn) {
				impact = Neutral
			}
			add(impact, name, fmt.Sprintf("rule removed (%s)%s: %s", severity(d.r), from(d), checkSrc(d.r)))
		}
	}
	for _, name := range norder {
		nr := nd[name]
		or, ok := od[name]
		if !ok {
			impact := Tightening
			if severity(nr.r) == string(rules.SeverityWarn) {
				impact = Neutral
			}
			what := fmt.Sprintf("rule added (%s)%s: %s", severity(nr.r), from(nr), checkSrc(nr.r))
			if w := nr.r.When.Src; w != "" {
				what += " when " + w
			}
			add(impact, name, what)
			continue
		}
		osev, nsev := severity(or.r), severity(nr.r)
		checkSame := norm(checkSrc(or.r)) == norm(checkSrc(nr.r))
		whenSame := norm(or.r.When.Src) == norm(nr.r.When.Src)
		switch {
		case osev == "warn" && nsev == "error":
			add(Tightening, name, "severity warn -> error: failing events are now quarantined")
		case osev == "error" && nsev == "warn":
			add(Loosening, name, "severity error -> warn: failing events now pass, annotated")
		}
		if checkSame && whenSame {
			if or.r.Message.Value != nr.r.Message.Value {
				add(Neutral, name, fmt.Sprintf("message changed: %q", nr.r.Message.Value))
			}
			continue
		}
		impact := Unknown
		if nsev == "warn" && osev == "warn" {
			impact = Neutral
		}
		switch {
		case checkSame && or.r.When.Src == "" && nr.r.When.Src != "":
			if impact != Neutral {
				impact = Loosening
			}
			add(impact, name, "guard added: the rule now applies only when "+nr.r.When.Src)
		case checkSame && or.r.When.Src != "" && nr.r.When.Src == "":
			if impact != Neutral {
				impact = Tightening
			}
			add(impact, name, "guard removed: the rule now applies to every event (was only when "+or.r.When.Src+")")
		case checkSame:
			add(impact, name, fmt.Sprintf("guard changed: when %s -> when %s", or.r.When.Src, nr.r.When.Src))
		default:
			what := fmt.Sprintf("check changed: %s -> %s", norm(checkSrc(or.r)), norm(checkSrc(nr.r)))
			if !whenSame {
				what += fmt.Sprintf("; guard %q -> %q", or.r.When.Src, nr.r.When.Src)
			}
			add(impact, name, what)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
