package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Raw is JSON text that Marshal and Patch.Set insert verbatim. It must be valid JSON; Marshal
// checks that and fails with ErrUnsupportedValue otherwise.
type Raw []byte

// Marshal appends the compact JSON encoding of v to dst. It encodes the values the rule engine
// produces directly: string, bool, nil, all Go integer types (as integers), float32/float64
// (shortest text that round-trips, as encoding/json writes them; integral floats as integers,
// NaN and ±Inf are ErrUnsupportedValue), []any, []string, map[string]any and map[string]string
// (keys sorted), time.Time (RFC 3339 with nanoseconds, UTC offset kept), json.Number and Raw
// (verbatim after a validity check; compacted only if it contains line breaks). Anything else is encoded by encoding/json, compacted.
// Strings are escaped minimally: '"', '\\' and control characters; invalid UTF-8 becomes U+FFFD.
func Marshal(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

// maxMarshalDepth stops runaway recursion on self-referencing maps or slices.
const maxMarshalDepth = 1000

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxMarshalDepth {
		return dst, fmt.Errorf("%w: nesting deeper than %d (cyclic value?)", ErrUnsupportedValue, maxMarshalDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, x), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case float64:
		return appendFloat(dst, x, 64)
	case float32:
		return appendFloat(dst, float64(x), 32)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, e)
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := sortedKeys(x)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendValue(dst, x[k], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case map[string]string:
		keys := sortedKeys(x)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = AppendString(dst, x[k])
		}
		return append(dst, '}'), nil
	case time.Time:
		dst = append(dst, '"')
		dst = x.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"'), nil
	case json.Number:
		return appendRaw(dst, []byte(x))
	case Raw:
		return appendRaw(dst, x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrUnsupportedValue, err)
	}
	return appendCompact(dst, b)
}

// appendRaw inserts valid JSON text verbatim, compacted only when it spans lines so the
// output stays one NDJSON line.
func appendRaw(dst, raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		return dst, fmt.Errorf("%w: raw value %q is not valid JSON", ErrUnsupportedValue, truncate(string(raw), 40))
	}
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...), nil
	}
	return appendCompact(dst, raw)
}

func appendCompact(dst, b []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrUnsupportedValue, err)
	}
	return append(dst, buf.Bytes()...), nil
}

// appendFloat formats f as encoding/json does: the shortest text that parses back to the same
// float, in exponent form only for very small or very large magnitudes.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%w: %v", ErrUnsupportedValue, f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// Turn e-07 into e-7, like encoding/json.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// AppendString appends s as a JSON string literal. Only '"', '\\' and control characters are
// escaped; invalid UTF-8 is replaced by U+FFFD so the output is always valid.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// sortedKeys returns m's keys in order: objects meshgate creates are encoded deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
