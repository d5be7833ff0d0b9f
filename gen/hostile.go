package gen

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/meshgate/meshgate/jsonx"
)

// hostileKinds are the records that are not decodable events, the same for every domain.
// Each yields exactly the jsonx decode reason in Decode; none contains a raw '\n'.
func hostileKinds(domain string) []Kind {
	k := func(name string, weight int, reason, desc string, f func(g *Generator, ev *obj) ([]byte, string)) Kind {
		return Kind{Domain: domain, Class: Hostile, Name: name, Weight: weight, Outcome: OutcomeQuarantined,
			Decode: reason, Description: desc, hostile: f}
	}
	return []Kind{
		k("non_json", 6, jsonx.ReasonInvalidJSON, "not JSON: a truncated event, XML, CSV, form data, JS object syntax", nonJSON),
		k("invalid_utf8", 3, jsonx.ReasonInvalidUTF8, "a Latin-1 byte inside a string of an otherwise valid event", invalidUTF8),
		k("bom", 2, jsonx.ReasonBOM, "a valid event behind a UTF-8 byte order mark", func(g *Generator, ev *obj) ([]byte, string) {
			return append([]byte("\xef\xbb\xbf"), appendJSON(nil, ev)...), "UTF-8 BOM before the event"
		}),
		k("duplicate_key", 3, jsonx.ReasonDuplicateKey, "a valid event with a member repeated", duplicateKey),
		k("too_deep", 2, jsonx.ReasonTooDeep, "an event carrying a value nested deeper than 64 levels", tooDeep),
		k("too_large", 1, jsonx.ReasonTooLarge, "an event over 1 MiB (one long line)", tooLarge),
		k("not_object", 2, jsonx.ReasonNotObject, "well-formed JSON whose top level is an array or a scalar", notObject),
		k("empty", 1, jsonx.ReasonEmpty, "a blank record: only spaces or tabs (a non-empty NDJSON line)", func(g *Generator, _ *obj) ([]byte, string) {
			return []byte(oneOf(g, []string{" ", "\t", "   ", " \t "})), "only whitespace"
		}),
	}
}

func nonJSON(g *Generator, ev *obj) ([]byte, string) {
	full := appendJSON(nil, ev)
	switch g.intn(6) {
	case 0, 1:
		// A prefix of a compact object never closes it; cut on a rune boundary so the
		// failure is the truncation, not a split UTF-8 sequence.
		cut := g.between(1, len(full)-1)
		for cut > 1 && !utf8.RuneStart(full[cut]) {
			cut--
		}
		return full[:cut], "event truncated after " + itoa(cut) + " bytes"
	case 2:
		return []byte(`<order id="` + ev.get("event_id").(string) + `"><total>12.50</total></order>`), "XML"
	case 3:
		return []byte(ev.get("event_id").(string) + `,` + ev.get("event_type").(string) + `,` + ev.get("occurred_at").(string) + `,12.50`), "CSV line"
	case 4:
		return []byte("event_id=" + ev.get("event_id").(string) + "&event_type=" + ev.get("event_type").(string)), "form data"
	default:
		s := string(full)
		s = strings.Replace(s, `"event_id":`, `event_id:`, 1) // unquoted key, as in JS
		return []byte(s), "JS object syntax (unquoted key)"
	}
}

func invalidUTF8(g *Generator, ev *obj) ([]byte, string) {
	data := appendJSON(nil, ev)
	// Put a Latin-1 encoded letter (a lone byte >= 0x80) into a string value: the event_type
	// value is always present and plain ASCII.
	key := []byte(`"event_type":"`)
	i := bytes.Index(data, key) + len(key)
	latin1 := oneOf(g, []byte{0xe4, 0xe9, 0xfc, 0xdf, 0xff})
	out := make([]byte, 0, len(data)+1)
	out = append(out, data[:i]...)
	out = append(out, latin1)
	out = append(out, data[i:]...)
	return out, "Latin-1 byte in event_type"
}

func duplicateKey(g *Generator, ev *obj) ([]byte, string) {
	data := appendJSON(nil, ev)
	// Repeat the event's first member at the end: a producer that appends without checking.
	f := ev.f[0]
	if g.chance(0.5) && len(ev.f) > 3 {
		f = ev.f[3]
	}
	extra := append([]byte{','}, jsonx.AppendString(nil, f.k)...)
	extra = append(extra, ':')
	extra = appendJSON(extra, f.v)
	out := append(data[:len(data)-1:len(data)-1], extra...)
	return append(out, '}'), "member " + f.k + " repeated"
}

func tooDeep(g *Generator, ev *obj) ([]byte, string) {
	depth := g.between(65, 300) // nesting of the debug value; the event adds one level
	var b []byte
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			b = append(b, '[')
		} else {
			b = append(b, `{"x":`...)
		}
	}
	b = append(b, '1')
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			b = append(b, ']')
		} else {
			b = append(b, '}')
		}
	}
	ev.set("debug", jsonx.Raw(b))
	return appendJSON(nil, ev), "a value nested " + itoa(depth+1) + " levels deep"
}

func tooLarge(g *Generator, ev *obj) ([]byte, string) {
	size := jsonx.DefaultMaxBytes + g.between(1, 64<<10)
	base := appendJSON(nil, ev)
	pad := size - len(base) - len(`,"attachment":""`)
	chunk := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	var sb strings.Builder
	for sb.Len() < pad {
		sb.WriteString(chunk)
	}
	ev.set("attachment", sb.String()[:pad])
	return appendJSON(nil, ev), "event of " + itoa(size) + " bytes"
}

func notObject(g *Generator, ev *obj) ([]byte, string) {
	switch g.intn(4) {
	case 0:
		return append(appendJSON([]byte{'['}, ev), ']'), "the event wrapped in an array"
	case 1:
		return []byte(jsonx.AppendString(nil, ev.get("event_id").(string))), "a bare string"
	case 2:
		return []byte(itoa(g.intn(1000000))), "a bare number"
	default:
		return []byte("null"), "null"
	}
}
