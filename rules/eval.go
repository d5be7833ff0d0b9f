package rules

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/meshgate/meshgate/jsonx"
)

// Evaluator judges records. It holds per-goroutine scratch state (a reused expr VM, an edit
// patch, buffers, the formatted processing time) and is not safe for concurrent use: use one
// per goroutine (per shard). The compiled contracts it is given are shared read-only.
type Evaluator struct {
	vm    vm.VM
	ctx   evalCtx
	patch jsonx.Patch
	buf   []byte

	// The processing time of the last second judged, formatted and boxed once per second.
	metaSec int64
	metaAt  any

	// Unique rules: the State remembering keys (private unless UseState), the memories of
	// recently judged contracts, the keys of the event being judged and a hasher.
	state   *State
	bound   []boundContract
	pending []pendingKey
	kh      maphash.Hash
}

// NewEvaluator returns an Evaluator ready for use.
func NewEvaluator() *Evaluator { return &Evaluator{} }

// ruleTrace records, per rule, what happened to one event (fixture coverage).
type ruleTrace struct {
	applied []bool // the guard let the rule run
	failed  []bool
}

// maxValueLen bounds Violation.Value.
const maxValueLen = 96

// Judge decodes one record and judges it with c: every rule (global policies first), then, when
// no error-severity rule failed, the enrichment steps. It never panics and never returns an
// error: a record that is not a JSON object, a failed rule and a rule that could not be
// evaluated are all reported in the Verdict.
//
// Unique rules are judged last, only for events that go to the curated stream (no error
// rule failed and enrichment succeeded): such an event's key is remembered in the
// Evaluator's State, and the event fails the rule (a warning) when another record had the
// key within the window. They never change where an event goes.
func (e *Evaluator) Judge(c *Contract, in Input) Verdict {
	return e.judge(c, in, nil)
}

func (e *Evaluator) judge(c *Contract, in Input, tr *ruleTrace) (v Verdict) {
	v.PartitionKey = in.PartitionKey
	defer func() {
		// Last resort: the vocabulary and the VM are written not to panic, but one event must
		// never take down a shard.
		if r := recover(); r != nil {
			v = Verdict{Outcome: Quarantined, PartitionKey: in.PartitionKey, Violations: []Violation{{
				Rule: "internal", Severity: SeverityError, Message: "internal error while judging the event",
				Error: fmt.Sprint(r),
			}}}
		}
	}()
	m, err := jsonx.Decode(in.Data, c.limits)
	if err != nil {
		v.Outcome = Quarantined
		var de *jsonx.DecodeError
		if errors.As(err, &de) {
			v.Decode = &DecodeFailure{Reason: de.Reason, Detail: de.Error()}
		} else {
			v.Decode = &DecodeFailure{Reason: jsonx.ReasonInvalidJSON, Detail: err.Error()}
		}
		return v
	}
	e.ctx.now = in.Now
	m[ctxIdent] = &e.ctx

	pass := c.checks == 0
	if !pass && c.all != nil && tr == nil {
		if out, err := e.vm.Run(c.all, m); err == nil {
			pass, _ = out.(bool)
		}
	}
	if !pass {
		v.Violations = e.evalRules(c, m, tr)
	}
	v.Outcome = Passed
	for i := range v.Violations {
		if v.Violations[i].Severity == SeverityError {
			v.Outcome = Quarantined
			break
		}
		v.Outcome = Warned
	}

	e.facts(c, m, &v)

	// Keys are read before enrichment, which may rewrite the event.
	var uerr []Violation
	if len(c.uniques) > 0 && v.Outcome != Quarantined {
		uerr = e.uniqueKeys(c, m, tr)
	}
	if v.Outcome != Quarantined {
		out, err := e.enrich(c, in, m)
		if err != nil {
			v.Outcome = Quarantined
			v.Violations = append(v.Violations, Violation{Rule: "enrich", Severity: SeverityError,
				Message: "enrichment failed", Error: err.Error()})
			e.pending = e.pending[:0]
		} else {
			v.Output = out
		}
	}
	if len(c.uniques) > 0 && v.Outcome != Quarantined {
		uerr = append(uerr, e.commitKeys(c, &in, tr)...)
		if len(uerr) > 0 {
			v.Violations = append(v.Violations, uerr...)
			v.Outcome = Warned
		}
	}
	delete(m, ctxIdent)
	return v
}

// evalRules evaluates every rule on its own and returns the failures.
func (e *Evaluator) evalRules(c *Contract, m map[string]any, tr *ruleTrace) []Violation {
	var out []Violation
	for i, r := range c.rules {
		if r.unique != nil {
			continue // judged after the routing decision (unique.go)
		}
		if r.when != nil {
			res, err := e.vm.Run(r.when, m)
			if err != nil {
				out = append(out, e.violation(r, m, "when: "+errText(err)))
				if tr != nil {
					tr.applied[i], tr.failed[i] = true, true
				}
				continue
			}
			if b, ok := res.(bool); !ok || !b {
				continue
			}
		}
		if tr != nil {
			tr.applied[i] = true
		}
		res, err := e.vm.Run(r.check, m)
		switch b, ok := res.(bool); {
		case err != nil:
			out = append(out, e.violation(r, m, errText(err)))
		case !ok:
			out = append(out, e.violation(r, m, "check returned "+typeName(res)+", not a bool"))
		case !b:
			out = append(out, e.violation(r, m, ""))
		default:
			continue
		}
		if tr != nil {
			tr.failed[i] = true
		}
	}
	return out
}

func (e *Evaluator) violation(r *rule, m map[string]any, errMsg string) Violation {
	v := Violation{Rule: r.name, Severity: r.severity, Message: r.message, Error: errMsg}
	if r.valuePath != nil {
		val, ok := getPath(m, r.valuePath)
		if ok {
			v.Value = renderValue(e, val)
		} else {
			v.Value = "<missing>"
		}
	}
	return v
}

// renderValue renders a value as JSON, truncated to maxValueLen bytes.
func renderValue(e *Evaluator, val any) string {
	b, err := jsonx.Marshal(e.buf[:0], val)
	if err != nil {
		return fmt.Sprint(val)
	}
	e.buf = b[:0]
	if len(b) > maxValueLen {
		cut := maxValueLen
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		return string(b[:cut]) + "…"
	}
	return string(b)
}

// errText is an expression runtime error without expr's source snippet.
func errText(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// eval evaluates a value expression; a plain path is read directly.
func (e *Evaluator) eval(x valueExpr, m map[string]any) (any, error) {
	if x.path != nil {
		v, _ := getPath(m, x.path)
		return v, nil
	}
	if x.prog == nil {
		return nil, nil
	}
	return e.vm.Run(x.prog, m)
}

// facts fills the partition key and envelope facts. Failures leave the defaults.
func (e *Evaluator) facts(c *Contract, m map[string]any, v *Verdict) {
	if !c.pk.isZero() {
		if x, err := e.eval(c.pk, m); err == nil {
			if s := scalarString(x); s != "" {
				v.PartitionKey = s
			}
		}
	}
	if !c.evType.isZero() {
		if x, err := e.eval(c.evType, m); err == nil {
			v.EventType = scalarString(x)
		}
	}
	if !c.evVer.isZero() {
		if x, err := e.eval(c.evVer, m); err == nil {
			v.SchemaVersion = scalarString(x)
		}
	}
	if !c.evTime.isZero() {
		if x, err := e.eval(c.evTime, m); err == nil {
			if t, ok := toTime(x); ok {
				v.EventTime = t
			}
		}
	}
}

// scalarString renders strings, numbers and bools; anything else is "".
func scalarString(x any) string {
	switch s := x.(type) {
	case string:
		return s
	case bool:
		return strconv.FormatBool(s)
	case time.Time:
		return s.UTC().Format(time.RFC3339Nano)
	case nil:
		return ""
	}
	if _, ok := toFloat(x); ok {
		return lookupKey(x)
	}
	return ""
}
