package jsonx

import (
	"errors"
	"strconv"
)

// Decode failure reasons: the stable, bounded values of DecodeError.Reason. They double as
// metric labels and as the reason recorded in quarantine.
const (
	// ReasonInvalidJSON: the record is not RFC 8259 JSON (syntax error, trailing data, a number
	// out of float64 range).
	ReasonInvalidJSON = "invalid_json"
	// ReasonInvalidUTF8: invalid UTF-8 anywhere in the record, or a \u escape leaving a surrogate unpaired.
	ReasonInvalidUTF8 = "invalid_utf8"
	// ReasonBOM: the record starts with a UTF-8 byte order mark (EF BB BF).
	ReasonBOM = "bom"
	// ReasonDuplicateKey: an object, at any depth, repeats a key.
	ReasonDuplicateKey = "duplicate_key"
	// ReasonNotObject: the record is well-formed JSON but its top level is not an object.
	ReasonNotObject = "not_object"
	// ReasonTooDeep: objects and arrays nest deeper than Limits.MaxDepth.
	ReasonTooDeep = "too_deep"
	// ReasonTooLarge: the record is longer than Limits.MaxBytes.
	ReasonTooLarge = "too_large"
	// ReasonEmpty: the record has zero length or only whitespace.
	ReasonEmpty = "empty"
)

// Reasons lists every decode failure reason, for metric pre-registration and documentation.
var Reasons = []string{ReasonInvalidJSON, ReasonInvalidUTF8, ReasonBOM, ReasonDuplicateKey,
	ReasonNotObject, ReasonTooDeep, ReasonTooLarge, ReasonEmpty}

// DecodeError says why a record is not an event meshgate can judge. It is data about the
// record (it travels to quarantine), not an infrastructure failure.
type DecodeError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Offset is the byte offset the problem was found at, or -1 when the problem is the
	// record as a whole (too_large, empty).
	Offset int
	// Msg describes the problem without the reason and offset.
	Msg string
}

// Error renders "<reason>: <msg> at byte <offset>", e.g.
// `duplicate_key: key "a" repeated at byte 17`; the offset part is left out when Offset is -1.
func (e *DecodeError) Error() string {
	if e.Offset < 0 {
		return e.Reason + ": " + e.Msg
	}
	return e.Reason + ": " + e.Msg + " at byte " + strconv.Itoa(e.Offset)
}

// Patch errors.
var (
	// ErrNotObject: a Set needs to descend into a value that exists but is not an object.
	ErrNotObject = errors.New("not an object")
	// ErrMalformed: Apply was given input that is not well-formed JSON with an object at the
	// top level. Apply is meant for records Decode accepted.
	ErrMalformed = errors.New("malformed JSON input")
	// ErrUnsupportedValue: Marshal cannot encode a value (NaN, ±Inf, or a type encoding/json
	// rejects as well).
	ErrUnsupportedValue = errors.New("unsupported value")
)
