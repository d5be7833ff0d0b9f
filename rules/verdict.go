package rules

import "time"

// Severity says what a failed rule does to an event.
type Severity string

const (
	// SeverityError quarantines the event.
	SeverityError Severity = "error"
	// SeverityWarn lets the event pass; the failure is counted and annotated.
	SeverityWarn Severity = "warn"
)

// Outcome is the routing decision for one event.
type Outcome uint8

const (
	// Passed: no rule failed; the enriched event goes to the curated stream.
	Passed Outcome = iota
	// Warned: only warn-severity rules failed; the event still goes to the curated stream.
	Warned
	// Quarantined: the event failed to decode or an error-severity rule failed.
	Quarantined
)

func (o Outcome) String() string {
	switch o {
	case Passed:
		return "passed"
	case Warned:
		return "warned"
	case Quarantined:
		return "quarantined"
	}
	return "unknown"
}

// Violation is one failed rule. It is data that travels to quarantine, not an error.
type Violation struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Value is the offending value, rendered and truncated, when it is cheap to name.
	Value string `json:"value,omitempty"`
	// Error is the expression's runtime error text when the rule could not be evaluated
	// (a nil field, a wrong type in the data); such a rule counts as failed.
	Error string `json:"error,omitempty"`
}

// DecodeFailure says why a record is not an event meshgate can judge.
type DecodeFailure struct {
	// Reason is a stable, bounded code usable as a metric label, e.g. "invalid_json",
	// "invalid_utf8", "bom", "duplicate_key", "not_object", "too_deep", "too_large", "empty".
	Reason string `json:"reason"`
	// Detail is a human-readable explanation with the byte offset where known.
	Detail string `json:"detail"`
}

// Input is one record handed to an Evaluator.
type Input struct {
	// Data is the record's payload, exactly as received. It is not modified or retained.
	Data []byte
	// PartitionKey is the source record's partition key (the default output key).
	PartitionKey string
	// Now is the judging time, used by freshness checks, processing metadata and the
	// windows of unique rules.
	Now time.Time
	// Stream, Shard, SequenceNumber and SubSequence identify the source record when it is
	// known (the worker sets them; SubSequence is the position inside a KPL aggregate).
	// Unique rules use them to tell the same record judged again (a retried batch, a
	// re-delivery after a crash or a lease move) from another record with the same key.
	// An empty SequenceNumber means unknown: every Judge call is then a record of its own.
	Stream         string
	Shard          string
	SequenceNumber string
	SubSequence    int64
}

// Verdict is the result of judging one record with one contract.
type Verdict struct {
	Outcome Outcome
	// Decode is non-nil when the record could not be decoded; Outcome is then Quarantined.
	Decode *DecodeFailure
	// Violations lists every failed rule, warn and error alike, in contract order
	// (global policies first; unique rules, judged last, after the others).
	Violations []Violation
	// Output is the enriched event (only when Outcome is Passed or Warned). Fields that
	// enrichment did not touch keep their exact original bytes.
	Output []byte
	// PartitionKey is the output partition key: the contract's expression, or the input's.
	PartitionKey string
	// EventType, SchemaVersion and EventTime are read as the contract says; empty/zero if not declared.
	EventType     string
	SchemaVersion string
	EventTime     time.Time
}
