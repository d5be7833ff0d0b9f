package contractdiff

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// MaxSampleEvents bounds a sample (events beyond it are not read).
const MaxSampleEvents = 1_000_000

// ErrNeedDomain is returned when a sample event's domain cannot be told: raw events carry
// no stream, so a sample of raw events needs SampleConfig.Domain unless only one domain
// changed.
var ErrNeedDomain = errors.New("cannot tell which domain the sample's events belong to: pass --domain")

// SampleEvent is one event of a sample.
type SampleEvent struct {
	Line int
	Data []byte
	// Domain, Stream and Now are known for quarantine records (from their provenance:
	// domain, stream, arrival time); empty for raw events.
	Domain string
	Stream string
	Now    time.Time
}

// ReadSample reads a sample: NDJSON, gzip-compressed or not, of raw events or of
// quarantine records (lines with "payload" and "failures": their payload is the event, and
// their domain, stream and arrival time are used).
func ReadSample(r io.Reader) ([]SampleEvent, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read sample: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	var out []SampleEvent
	for line := 1; len(out) < MaxSampleEvents; line++ {
		data, err := br.ReadBytes('\n')
		data = bytes.TrimRight(data, "\r\n")
		if len(bytes.TrimSpace(data)) > 0 {
			out = append(out, sampleEvent(line, data))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("read sample line %d: %w", line, err)
		}
	}
	return out, nil
}

func sampleEvent(line int, data []byte) SampleEvent {
	ev := SampleEvent{Line: line, Data: data}
	if !bytes.Contains(data, []byte(`"payload"`)) || !bytes.Contains(data, []byte(`"failures"`)) {
		return ev
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil || probe["payload"] == nil || probe["failures"] == nil {
		return ev
	}
	var q quarantine.Record
	if json.Unmarshal(data, &q) != nil {
		return ev
	}
	return SampleEvent{Line: line, Data: q.Payload, Domain: q.Domain, Stream: q.Stream, Now: q.ArrivalTime}
}

// SampleConfig says how to re-judge a sample.
type SampleConfig struct {
	// Domain judges every raw event of the sample (quarantine records name their own).
	Domain string
	// Now is the judging time of raw events (default: the wall clock, once for the whole
	// sample, so both sets judge at the same instant).
	Now time.Time
	// Examples per rule (default 3). ShowValues adds each example's offending value (which
	// may be personal data) to the report.
	Examples   int
	ShowValues bool
}

// SampleReport is what re-judging a sample with both sets found.
type SampleReport struct {
	Events int            `json:"events"`
	Judged map[string]int `json:"judged"` // per domain
	// Skipped counts events of a domain that has no active contract in one of the sets.
	Skipped int `json:"skipped"`
	// Changed = NewlyQuarantined + NewlyPassed: events routed differently.
	Changed          int          `json:"changed"`
	NewlyQuarantined int          `json:"newlyQuarantined"`
	NewlyPassed      int          `json:"newlyPassed"`
	Rules            []RuleEffect `json:"rules"`
}

// RuleEffect is one rule that makes events change verdict.
type RuleEffect struct {
	Domain string `json:"domain"`
	Rule   string `json:"rule"`
	// Direction is "newly_fails" (it quarantines events the old set passed) or
	// "no_longer_fails" (events the old set quarantined with it now pass).
	Direction string    `json:"direction"`
	Events    int       `json:"events"`
	Examples  []Example `json:"examples"`
}

// Example is one sample event a rule changed the verdict of.
type Example struct {
	Line    int    `json:"line"`
	EventID string `json:"eventID,omitempty"`
	Message string `json:"message"`
	Value   string `json:"value,omitempty"`
}

// Directions of a RuleEffect.
const (
	NewlyFails    = "newly_fails"
	NoLongerFails = "no_longer_fails"
)

// Rejudge judges every sample event with the old and the new set and reports the events
// whose routing (curated or quarantine) changes, attributed to the rules that make the
// difference. changed lists the domains Compare found different; a raw event without a
// domain is judged by cfg.Domain, or by the only changed domain.
func Rejudge(old, cur *rules.Set, events []SampleEvent, changed []string, cfg SampleConfig) (*SampleReport, error) {
	if cfg.Examples <= 0 {
		cfg.Examples = 3
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	rep := &SampleReport{Events: len(events), Judged: map[string]int{}}
	effects := map[[3]string]*RuleEffect{}
	eo, en := rules.NewEvaluator(), rules.NewEvaluator()
	for _, ev := range events {
		domain := ev.Domain
		if domain == "" && ev.Stream != "" {
			if c := cur.ByStream(ev.Stream); c != nil {
				domain = c.Domain
			} else if c := old.ByStream(ev.Stream); c != nil {
				domain = c.Domain
			}
		}
		if domain == "" {
			domain = cfg.Domain
		}
		if domain == "" {
			if len(changed) != 1 {
				return nil, ErrNeedDomain
			}
			domain = changed[0]
		}
		oc, nc := old.ByDomain(domain), cur.ByDomain(domain)
		if oc == nil || nc == nil {
			rep.Skipped++
			continue
		}
		now := ev.Now
		if now.IsZero() {
			now = cfg.Now
		}
		rep.Judged[domain]++
		ov := eo.Judge(oc, rules.Input{Data: ev.Data, Now: now})
		nv := en.Judge(nc, rules.Input{Data: ev.Data, Now: now})
		oq, nq := ov.Outcome == rules.Quarantined, nv.Outcome == rules.Quarantined
		if oq == nq {
			continue
		}
		rep.Changed++
		direction, from, other := NewlyFails, &nv, &ov
		if nq {
			rep.NewlyQuarantined++
		} else {
			rep.NewlyPassed++
			direction, from, other = NoLongerFails, &ov, &nv
		}
		for _, vi := range explaining(from, other) {
			k := [3]string{domain, vi.Rule, direction}
			e := effects[k]
			if e == nil {
				e = &RuleEffect{Domain: domain, Rule: vi.Rule, Direction: direction}
				effects[k] = e
			}
			e.Events++
			if len(e.Examples) < cfg.Examples {
				ex := Example{Line: ev.Line, EventID: eventID(ev.Data), Message: vi.Message}
				if cfg.ShowValues {
					ex.Value = vi.Value
					if ex.Value == "" {
						ex.Value = vi.Error
					}
				}
				e.Examples = append(e.Examples, ex)
			}
		}
	}
	for _, e := range effects {
		rep.Rules = append(rep.Rules, *e)
	}
	sort.Slice(rep.Rules, func(i, j int) bool {
		a, b := rep.Rules[i], rep.Rules[j]
		if a.Events != b.Events {
			return a.Events > b.Events
		}
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Direction < b.Direction
	})
	return rep, nil
}

// explaining returns the error-severity violations of the quarantining verdict from that
// the routed verdict other does not have (the decode failure as rule "decode"); when none
// differs, all of from's error violations.
func explaining(from, other *rules.Verdict) []rules.Violation {
	if from.Decode != nil {
		return []rules.Violation{{Rule: "decode", Severity: rules.SeverityError, Message: from.Decode.Detail}}
	}
	var out, all []rules.Violation
	for _, v := range from.Violations {
		if v.Severity != rules.SeverityError {
			continue
		}
		all = append(all, v)
		same := false
		for _, w := range other.Violations {
			if w.Rule == v.Rule && w.Severity == rules.SeverityError {
				same = true
			}
		}
		if !same {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// eventID returns a top-level "event_id" string of an event, if it has one (truncated).
func eventID(data []byte) string {
	var ev struct {
		EventID any `json:"event_id"`
	}
	if json.Unmarshal(data, &ev) != nil {
		return ""
	}
	s, _ := ev.EventID.(string)
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.TrimSpace(s)
}

// ApplyEvidence annotates the producer changes with what the sample showed: a rule (or a
// field's derived rules) that newly fails events is tightening, one that no longer fails
// them is loosening — which resolves Unknown changes.
func ApplyEvidence(diffs []DomainDiff, rep *SampleReport) {
	for i := range diffs {
		d := &diffs[i]
		total := rep.Judged[d.Domain]
		for j := range d.Changes {
			ch := &d.Changes[j]
			if ch.Audience != Producers || (ch.Kind != "rule" && ch.Kind != "field") {
				continue
			}
			fails, passes := 0, 0
			for _, e := range rep.Rules {
				if e.Domain != d.Domain || !(e.Rule == ch.Subject || (ch.Kind == "field" && strings.HasPrefix(e.Rule, ch.Subject+"."))) {
					continue
				}
				if e.Direction == NewlyFails {
					fails += e.Events
				} else {
					passes += e.Events
				}
			}
			var parts []string
			if fails > 0 {
				parts = append(parts, fmt.Sprintf("%d of %d sampled events newly quarantined by it", fails, total))
			}
			if passes > 0 {
				parts = append(parts, fmt.Sprintf("%d of %d sampled events no longer quarantined by it", passes, total))
			}
			if len(parts) == 0 {
				parts = append(parts, fmt.Sprintf("no verdict change in %d sampled events", total))
			}
			ch.Evidence = strings.Join(parts, "; ")
			if ch.Impact == Unknown {
				switch {
				case fails > 0:
					ch.Impact = Tightening
				case passes > 0:
					ch.Impact = Loosening
				}
			}
		}
	}
}
