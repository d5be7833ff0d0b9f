package contractdiff

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report is the result of `meshgate diff`.
type Report struct {
	Old     string        `json:"old"`
	New     string        `json:"new"`
	Domains []DomainDiff  `json:"domains"`
	Sample  *SampleReport `json:"sample,omitempty"`
	// FailOn are the impacts that fail the gate; Failing counts the changes with one of
	// them (plus, when tightening is among them, a sample with newly quarantined events).
	FailOn  []string `json:"failOn"`
	Failing int      `json:"failing"`
}

// DefaultFailOn are the impacts that fail `meshgate diff` unless --fail-on says otherwise.
var DefaultFailOn = []string{Breaking, Tightening, Unknown}

// ValidImpacts are the values --fail-on accepts.
var ValidImpacts = []string{Breaking, Tightening, Unknown, Loosening, NonBreaking, Neutral}

// Evaluate counts the failing changes for failOn and records both in r.
func (r *Report) Evaluate(failOn []string) int {
	r.FailOn, r.Failing = failOn, 0
	for _, d := range r.Domains {
		for _, c := range d.Changes {
			if slices.Contains(failOn, c.Impact) {
				r.Failing++
			}
		}
	}
	if r.Sample != nil && r.Sample.NewlyQuarantined > 0 && slices.Contains(failOn, Tightening) {
		r.Failing++
	}
	return r.Failing
}

// ChangedDomains lists the domains with changes.
func (r *Report) ChangedDomains() []string {
	var out []string
	for _, d := range r.Domains {
		out = append(out, d.Domain)
	}
	return out
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) {
	if len(r.Domains) == 0 {
		fmt.Fprintf(w, "no contract changes between %s and %s\n", r.Old, r.New)
	}
	for i, d := range r.Domains {
		if i > 0 {
			fmt.Fprintln(w)
		}
		versions := orNone(d.OldVersion, "(none)") + " -> " + orNone(d.NewVersion, "(none)")
		fmt.Fprintf(w, "%s %s\n", d.Domain, versions)
		for _, audience := range []string{Producers, Consumers} {
			var lines []Change
			for _, c := range d.Changes {
				if c.Audience == audience {
					lines = append(lines, c)
				}
			}
			if len(lines) == 0 {
				continue
			}
			if audience == Producers {
				fmt.Fprintln(w, "  producers (raw stream):")
			} else {
				fmt.Fprintf(w, "  consumers (curated stream %s):\n", orNone(d.Curated, "-"))
			}
			for _, c := range lines {
				impact := c.Impact
				if slices.Contains(r.FailOn, impact) {
					impact = strings.ToUpper(impact)
				}
				fmt.Fprintf(w, "    %-13s %s: %s\n", impact, c.Subject, c.What)
				if c.Evidence != "" {
					fmt.Fprintf(w, "    %-13s sample: %s\n", "", c.Evidence)
				}
			}
		}
	}
	if s := r.Sample; s != nil {
		fmt.Fprintln(w)
		var judged []string
		for _, d := range sortedKeys(s.Judged) {
			judged = append(judged, fmt.Sprintf("%s %d", d, s.Judged[d]))
		}
		fmt.Fprintf(w, "sample: %d events (%s", s.Events, orNone(strings.Join(judged, ", "), "none judged"))
		if s.Skipped > 0 {
			fmt.Fprintf(w, ", %d skipped: no contract in both sets", s.Skipped)
		}
		fmt.Fprintf(w, "): %d change verdict — %d would now be quarantined, %d would now pass\n", s.Changed, s.NewlyQuarantined, s.NewlyPassed)
		for _, e := range s.Rules {
			verb := "newly fails"
			if e.Direction == NoLongerFails {
				verb = "no longer fails"
			}
			var ex []string
			for _, x := range e.Examples {
				t := fmt.Sprintf("line %d", x.Line)
				if x.EventID != "" {
					t += " (event_id " + x.EventID + ")"
				}
				if x.Value != "" {
					t += " value " + x.Value
				}
				ex = append(ex, t)
			}
			fmt.Fprintf(w, "  %s %s %s %s, e.g. %s\n", e.Domain, e.Rule, verb, plural(e.Events, "event"), strings.Join(ex, ", "))
		}
	}
	fmt.Fprintln(w)
	counts := map[string]int{}
	for _, d := range r.Domains {
		for _, c := range d.Changes {
			counts[c.Impact]++
		}
	}
	var parts []string
	for _, k := range ValidImpacts {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	summary := orNone(strings.Join(parts, ", "), "no changes")
	if r.Failing > 0 {
		fmt.Fprintf(w, "FAIL: %s (fails on %s)\n", summary, strings.Join(r.FailOn, ","))
	} else {
		fmt.Fprintf(w, "ok: %s (fails on %s)\n", summary, strings.Join(r.FailOn, ","))
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
