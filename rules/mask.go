package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/meshgate/meshgate/jsonx"
)

// MaskPII returns a copy of an event with the fields that contracts protect made safe the
// way their enrichment does it: every field a redact step names becomes "[REDACTED]" and
// every field a hash step names becomes the hex sha256 of salt+value (with the contract's
// salt). Nothing else changes: members no step protects keep their exact bytes, nothing is
// set, renamed or dropped. It is for diagnostics that must show raw events — shadow
// samples of events a candidate contract judges differently — without leaking what a
// contract hashes or redacts on the curated stream.
//
// With several contracts (the active and the shadow contract of a domain) the union of
// their protected fields is masked; a field one redacts and another hashes is redacted.
// Steps are read in order, so a hash of a field an earlier rename step produced protects
// the field's name in the input (rename cust_mail -> email, hash email: cust_mail is
// hashed); a protected field that an earlier set step computed is not in the input and is
// skipped. A field absent from the event is left absent (and a null one is hashed to
// nothing, as enrichment leaves it null).
//
// data must decode as an event (the first contract's decoding limits apply); otherwise
// MaskPII returns the decoding error and the caller must not show data at all.
func MaskPII(data []byte, cs ...*Contract) ([]byte, error) {
	if len(cs) == 0 {
		return append([]byte(nil), data...), nil
	}
	m, err := jsonx.Decode(data, cs[0].limits)
	if err != nil {
		return nil, err
	}
	type target struct {
		path   []string
		redact bool
		c      *Contract
	}
	var targets []target
	for _, c := range cs {
		if c == nil {
			continue
		}
		for i, st := range c.steps {
			if st.op != OpRedact && st.op != OpHash {
				continue
			}
			in, ok := inputPath(c.steps[:i], st.path)
			if !ok {
				continue
			}
			targets = append(targets, target{path: in, redact: st.op == OpRedact, c: c})
		}
	}
	var p jsonx.Patch
	done := map[string]bool{}
	// Redactions first: they win over a hash of the same field.
	for _, redact := range []bool{true, false} {
		for _, t := range targets {
			key := strings.Join(t.path, "\x00")
			if t.redact != redact || done[key] {
				continue
			}
			v, ok := getPath(m, t.path)
			if !ok {
				continue
			}
			if redact {
				p.Set(t.path, Redacted)
			} else {
				if v == nil {
					continue
				}
				h, err := hashValue(t.c.salt, v)
				if err != nil {
					return nil, err
				}
				p.Set(t.path, h)
			}
			done[key] = true
		}
	}
	return jsonx.AppendApply(make([]byte, 0, len(data)+64), data, &p)
}

// inputPath maps a path as a step sees it back to the input event, undoing the renames of
// the steps before it. ok is false when an earlier set or metadata step produced the path
// (or a parent of it): its value is computed, not read from the input.
func inputPath(before []*step, path []string) ([]string, bool) {
	path = slices.Clone(path)
	for i := len(before) - 1; i >= 0; i-- {
		st := before[i]
		switch st.op {
		case OpRename:
			if hasPrefix(path, st.to) {
				path = append(slices.Clone(st.path), path[len(st.to):]...)
			}
		case OpSet:
			if hasPrefix(path, st.path) {
				return nil, false
			}
		case OpMetadata:
			if hasPrefix(path, st.path) {
				return nil, false
			}
		}
	}
	return path, true
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// hashValue is the hash step's function: hex sha256 of salt+value, strings by their text,
// other values by their compact JSON.
func hashValue(salt string, v any) (string, error) {
	b := []byte(salt)
	if s, ok := v.(string); ok {
		b = append(b, s...)
	} else {
		var err error
		if b, err = jsonx.Marshal(b, v); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
