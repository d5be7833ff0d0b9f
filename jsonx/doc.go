// Package jsonx is meshgate's JSON layer: a strict, fast decoder that turns one record into the
// map[string]any the rule engine evaluates, and a patching encoder that writes the enriched event
// while keeping the exact bytes of everything enrichment did not touch.
//
// # Decoding
//
// [Decode] is a hand-written single-pass parser for RFC 8259 JSON whose top level must be an
// object. Values come out as:
//
//	string          JSON strings (always valid UTF-8)
//	bool, nil       true, false, null
//	int             integer literals (no fraction, no exponent) that fit in int64
//	float64         every other number, including integers beyond int64
//	[]any           arrays
//	map[string]any  objects
//
// Everything a record can do wrong is a [*DecodeError] with a stable Reason usable as a metric
// label (see the Reason constants). Decode never panics. Beyond RFC 8259 it rejects, on purpose:
// duplicate keys at any depth, a UTF-8 byte order mark, invalid UTF-8 anywhere (inside strings
// too), \u escapes that leave a surrogate unpaired (they cannot be represented in UTF-8; reason
// invalid_utf8), numbers whose magnitude overflows float64 (reason invalid_json), nesting deeper
// than [Limits].MaxDepth and records larger than [Limits].MaxBytes. When a record has several
// problems, the first one in byte order is reported, except that too_large, empty and bom are
// checked before parsing starts, not_object is reported only for a well-formed JSON text whose
// top level is not an object (a malformed one is invalid_json), and a duplicate key in an
// object with more than 16 members is found when that object ends.
//
// # Output fidelity
//
// A [Patch] collects edits (Set, Delete, Rename) by path; [Apply] writes the input with those
// edits applied. Every member on no edited path is copied byte for byte: numbers such as
// 9007199254740993 or 0.1, escapes and whitespace inside untouched values come out exactly as
// they came in. Only objects on an edited path are walked; new members go at the end of their
// object; new values are encoded compactly by [Marshal].
package jsonx
