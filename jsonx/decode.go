package jsonx

import (
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Default limits.
const (
	// DefaultMaxDepth is the deepest nesting Decode accepts by default; the top-level object is
	// depth 1, so {"a":{"b":[1]}} has depth 3.
	DefaultMaxDepth = 64
	// DefaultMaxBytes is the largest record Decode accepts by default: 1 MiB, the Kinesis record
	// payload limit.
	DefaultMaxBytes = 1 << 20
)

// Limits bound what Decode accepts. A zero or negative field means its default.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted (top-level object = 1).
	MaxDepth int
	// MaxBytes is the largest record accepted, in bytes.
	MaxBytes int
}

// DefaultLimits are the limits used by the worker unless configured otherwise:
// depth 64 and 1 MiB. The zero Limits means the same.
var DefaultLimits = Limits{MaxDepth: DefaultMaxDepth, MaxBytes: DefaultMaxBytes}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// linearMax is the member count up to which an object checks each key for a duplicate as it
// is read, by a linear scan of its pending members. Beyond it, duplicates are found when the
// object's map is built at its end, so hostile input with many keys stays O(n).
const linearMax = 16

type member struct {
	key string
	val any
	off int // the key's offset, for a duplicate found late
}

// decoder is the reusable scratch of one Decode call.
type decoder struct {
	data     []byte
	s        string // string(data): unescaped strings are substrings of it, so they cost no copy
	pos      int
	depth    int
	maxDepth int
	members  []member // pending members of the objects being parsed, innermost last
	values   []any    // pending elements of the arrays being parsed, innermost last
	// maxMembers and maxValues are the high-water marks of members and values.
	maxMembers, maxValues int
	buf                   []byte // unescape scratch
	err                   *DecodeError
	strs                  slab[string]
	floats                slab[float64]
	ints                  slab[int]
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// Decode parses one record whose top level must be a JSON object. See the package doc for the
// value types and the failure reasons; every error it returns is a *DecodeError. Decode is safe
// for concurrent use and does not retain data.
func Decode(data []byte, lim Limits) (map[string]any, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &DecodeError{Reason: ReasonTooLarge, Offset: -1,
			Msg: "record is " + strconv.Itoa(len(data)) + " bytes, limit is " + strconv.Itoa(lim.MaxBytes)}
	}
	if len(data) == 0 {
		return nil, &DecodeError{Reason: ReasonEmpty, Offset: -1, Msg: "record is empty"}
	}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return nil, &DecodeError{Reason: ReasonBOM, Offset: 0, Msg: "record starts with a UTF-8 byte order mark"}
	}
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) {
		return nil, &DecodeError{Reason: ReasonEmpty, Offset: -1, Msg: "record has only whitespace (" + strconv.Itoa(len(data)) + " bytes)"}
	}

	d := decoderPool.Get().(*decoder)
	d.data, d.s, d.pos, d.depth, d.maxDepth, d.err = data, string(data), i, 0, lim.MaxDepth, nil
	// First slab sizes fit a typical event: about one string value per 36 bytes.
	d.strs.reset(len(data) / 36)
	d.floats.reset(8)
	d.ints.reset(4)
	var (
		m   map[string]any
		err error
	)
	if data[i] == '{' {
		if obj, ok := d.object(); ok {
			d.skipSpace()
			if d.pos < len(d.data) {
				d.unexpected("after top-level value")
			} else {
				m = obj
			}
		}
	} else if v, ok := d.value(); ok {
		d.skipSpace()
		if d.pos < len(d.data) {
			d.unexpected("after top-level value")
		} else {
			d.err = &DecodeError{Reason: ReasonNotObject, Offset: i, Msg: "top-level value is " + kindOf(v)}
		}
	}
	if d.err != nil {
		err, m = d.err, nil
	}
	d.data, d.s, d.err = nil, "", nil
	d.strs.reset(0)
	d.floats.reset(0)
	d.ints.reset(0)
	// Popped entries are not cleared as objects and arrays close (that costs write barriers
	// on the hot path); the high-water marks say how far to clear before pooling.
	clear(d.members[:max(d.maxMembers, len(d.members))]) // len: objects left open by an error
	clear(d.values[:max(d.maxValues, len(d.values))])
	d.members, d.values, d.maxMembers, d.maxValues = d.members[:0], d.values[:0], 0, 0
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	decoderPool.Put(d)
	return m, err
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) && isSpace(d.data[d.pos]) {
		d.pos++
	}
}

func (d *decoder) fail(reason string, off int, msg string) bool {
	d.err = &DecodeError{Reason: reason, Offset: off, Msg: msg}
	return false
}

// unexpected reports the byte at d.pos (or the end of input) as out of place. A byte that
// starts no valid UTF-8 sequence is reported as invalid_utf8 wherever it is.
func (d *decoder) unexpected(context string) bool {
	if d.pos >= len(d.data) {
		return d.fail(ReasonInvalidJSON, d.pos, "unexpected end of input")
	}
	c := d.data[d.pos]
	if c >= utf8.RuneSelf {
		if r, size := utf8.DecodeRune(d.data[d.pos:]); r == utf8.RuneError && size <= 1 {
			return d.fail(ReasonInvalidUTF8, d.pos, "invalid UTF-8 byte "+hexByte(c))
		}
	}
	return d.fail(ReasonInvalidJSON, d.pos, "invalid character "+quoteChar(c)+" "+context)
}

func hexByte(c byte) string {
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[c>>4], hex[c&15]})
}

// quoteChar renders a byte for an error message like encoding/json does.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = `"\x` + hexByte(c)[2:] + `"`
	}
	return "'" + s[1:len(s)-1] + "'"
}

// value parses any JSON value at d.pos (after skipping whitespace).
func (d *decoder) value() (any, bool) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.unexpected("")
	}
	switch c := d.data[d.pos]; c {
	case '{':
		m, ok := d.object()
		return m, ok
	case '[':
		a, ok := d.array()
		return a, ok
	case '"':
		s, ok := d.str()
		return d.boxString(s), ok
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.unexpected("looking for beginning of value")
	}
}

func (d *decoder) literal(lit string) bool {
	for i := 0; i < len(lit); i++ {
		if d.pos >= len(d.data) || d.data[d.pos] != lit[i] {
			return d.unexpected("in literal " + lit)
		}
		d.pos++
	}
	return true
}

func (d *decoder) enter() bool {
	d.depth++
	if d.depth > d.maxDepth {
		return d.fail(ReasonTooDeep, d.pos, "nesting deeper than "+strconv.Itoa(d.maxDepth)+" levels")
	}
	return true
}

// object parses an object at d.pos ('{').
func (d *decoder) object() (map[string]any, bool) {
	if !d.enter() {
		return nil, false
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return map[string]any{}, true
	}
	base := len(d.members)
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.unexpected("looking for beginning of object key string")
		}
		keyOff := d.pos
		key, ok := d.str()
		if !ok {
			return nil, false
		}
		if len(d.members)-base <= linearMax {
			for i := base; i < len(d.members); i++ {
				if d.members[i].key == key {
					return nil, d.dup(key, keyOff)
				}
			}
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.unexpected("after object key")
		}
		d.pos++
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		d.members = append(d.members, member{key, v, keyOff})
		d.skipSpace()
		if d.pos < len(d.data) {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				continue
			case '}':
				d.pos++
				d.depth--
				pending := d.members[base:]
				d.maxMembers = max(d.maxMembers, len(d.members))
				m := make(map[string]any, len(pending))
				for _, mb := range pending {
					m[mb.key] = mb.val
				}
				if len(m) < len(pending) {
					// Only objects too big for the linear scan get here with a duplicate.
					seen := make(map[string]bool, len(pending))
					for _, mb := range pending {
						if seen[mb.key] {
							return nil, d.dup(mb.key, mb.off)
						}
						seen[mb.key] = true
					}
				}
				d.members = d.members[:base]
				return m, true
			}
		}
		return nil, d.unexpected("after object key:value pair")
	}
}

func (d *decoder) dup(key string, off int) bool {
	if len(key) > 64 {
		key = key[:64] + "..."
	}
	return d.fail(ReasonDuplicateKey, off, "key "+strconv.Quote(key)+" repeated")
}

// array parses an array at d.pos ('[').
func (d *decoder) array() ([]any, bool) {
	if !d.enter() {
		return nil, false
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return []any{}, true
	}
	base := len(d.values)
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		d.values = append(d.values, v)
		d.skipSpace()
		if d.pos < len(d.data) {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				continue
			case ']':
				d.pos++
				d.depth--
				pending := d.values[base:]
				d.maxValues = max(d.maxValues, len(d.values))
				a := make([]any, len(pending))
				copy(a, pending)
				d.values = d.values[:base]
				return a, true
			}
		}
		return nil, d.unexpected("after array element")
	}
}

// plain marks the string bytes that need no attention: printable ASCII except '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return
}()

// str parses a string at d.pos ('"').
func (d *decoder) str() (string, bool) {
	data := d.data
	start := d.pos + 1
	i := start
	for i < len(data) {
		c := data[i]
		if plain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return d.s[start:i], true
		case c == '\\':
			return d.strEscaped(start, i)
		case c < 0x20:
			d.pos = i
			return "", d.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", d.fail(ReasonInvalidUTF8, i, "invalid UTF-8 byte "+hexByte(c)+" in string")
			}
			i += size
		}
	}
	d.pos = i
	return "", d.unexpected("")
}

// strEscaped finishes a string containing escapes; data[start:i] is its plain prefix.
func (d *decoder) strEscaped(start, i int) (string, bool) {
	data := d.data
	buf := append(d.buf[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		if plain[c] {
			buf = append(buf, c)
			i++
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = buf
			return string(buf), true
		case c == '\\':
			if i+1 >= len(data) {
				d.pos = i + 1
				return "", d.unexpected("")
			}
			e := data[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4(i + 2)
				if !ok {
					return "", false
				}
				n := 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if r < 0xDC00 && i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
						if r2, ok = d.hex4(i + 8); !ok {
							return "", false
						}
					}
					dec := utf16.DecodeRune(r, r2)
					if dec == utf8.RuneError {
						return "", d.fail(ReasonInvalidUTF8, i, "unpaired surrogate "+string(data[i:i+6]))
					}
					r, n = dec, 12
				}
				buf = utf8.AppendRune(buf, r)
				i += n
				continue
			default:
				d.pos = i + 1
				return "", d.unexpected("in string escape code")
			}
			i += 2
		case c < 0x20:
			d.pos = i
			return "", d.unexpected("in string literal")
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				return "", d.fail(ReasonInvalidUTF8, i, "invalid UTF-8 byte "+hexByte(c)+" in string")
			}
			buf = append(buf, data[i:i+size]...)
			i += size
		}
	}
	d.pos = i
	d.buf = buf
	return "", d.unexpected("")
}

// hex4 reads the four hex digits of a \u escape starting at data[i].
func (d *decoder) hex4(i int) (rune, bool) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(d.data) {
			d.pos = j
			return 0, d.unexpected("")
		}
		c := d.data[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			d.pos = j
			return 0, d.unexpected("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number parses a number at d.pos.
func (d *decoder) number() (any, bool) {
	data := d.data
	start := d.pos
	i := start
	neg := data[i] == '-'
	if neg {
		i++
	}
	if i >= len(data) {
		d.pos = i
		return nil, d.unexpected("in numeric literal")
	}
	digits := i
	switch c := data[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		return nil, d.unexpected("in numeric literal")
	}
	isInt := true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return nil, d.unexpected("after decimal point in numeric literal")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return nil, d.unexpected("in exponent of numeric literal")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	d.pos = i
	if isInt && i-digits <= 18 { // 18 digits always fit in int64
		var v int64
		for _, c := range data[digits:i] {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		if int64(int(v)) == v {
			return d.boxInt(int(v)), true
		}
	}
	// Only the number's own bytes are viewed as a string; the parsers do not retain it.
	text := unsafe.String(&data[start], i-start)
	if isInt {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil && int64(int(v)) == v {
			return d.boxInt(int(v)), true
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// The grammar was checked above, so the only failure left is overflow to ±Inf.
		return nil, d.fail(ReasonInvalidJSON, start, "number "+truncate(string(data[start:i]), 40)+" out of float64 range")
	}
	return d.boxFloat(f), true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
