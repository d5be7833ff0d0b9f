package odcs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/meshgate/meshgate/rules"
)

// datePattern is a logicalTypeOptions.format for dates and times, written in the
// Java/Unicode pattern letters ODCS examples use (yyyy-MM-dd HH:mm:ss), turned into a
// regular expression. lexical is true when strings in the pattern sort like the instants
// they name (fixed-width fields from the most to the least significant, no zone), so that
// minimum/maximum can be compared as strings.
type datePattern struct {
	re      string
	lexical bool
}

// rank orders pattern letters from the most to the least significant field.
var rank = map[byte]int{'y': 1, 'u': 1, 'M': 2, 'd': 3, 'H': 4, 'm': 5, 's': 6, 'S': 7}

func parseDatePattern(p string) (datePattern, error) {
	var re strings.Builder
	re.WriteByte('^')
	lexical := true
	last := 0
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' { // quoted literal; '' is a quote
			j := i + 1
			var lit strings.Builder
			for j < len(p) {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(p[j])
				j++
			}
			if j >= len(p) {
				return datePattern{}, fmt.Errorf("unterminated quote in %q", p)
			}
			re.WriteString(regexp.QuoteMeta(lit.String()))
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			re.WriteString(regexp.QuoteMeta(string(c)))
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == c {
			j++
		}
		n := j - i
		i = j
		fixed := true
		switch {
		case (c == 'y' || c == 'u') && n == 2:
			re.WriteString(`[0-9]{2}`)
		case (c == 'y' || c == 'u') && n == 4:
			re.WriteString(`[0-9]{4}`)
		case c == 'M' && n == 2:
			re.WriteString(`(0[1-9]|1[0-2])`)
		case c == 'M' && n == 1:
			re.WriteString(`([1-9]|1[0-2])`)
			fixed = false
		case c == 'd' && n == 2:
			re.WriteString(`(0[1-9]|[12][0-9]|3[01])`)
		case c == 'd' && n == 1:
			re.WriteString(`([1-9]|[12][0-9]|3[01])`)
			fixed = false
		case c == 'H' && n == 2:
			re.WriteString(`([01][0-9]|2[0-3])`)
		case c == 'H' && n == 1:
			re.WriteString(`(1?[0-9]|2[0-3])`)
			fixed = false
		case c == 'h' && n <= 2:
			re.WriteString(`(0?[1-9]|1[0-2])`)
			lexical = false
		case c == 'm' && n == 2:
			re.WriteString(`[0-5][0-9]`)
		case c == 's' && n == 2:
			re.WriteString(`[0-5][0-9]`)
		case c == 'S':
			re.WriteString(fmt.Sprintf(`[0-9]{%d}`, n))
		case c == 'a' && n == 1:
			re.WriteString(`(AM|PM|am|pm)`)
			lexical = false
		case c == 'X' && n <= 3, c == 'Z' && n <= 3, c == 'x' && n <= 3:
			zone := map[int]string{1: `[+-][0-9]{2}([0-9]{2})?`, 2: `[+-][0-9]{4}`, 3: `[+-][0-9]{2}:[0-9]{2}`}[n]
			if c == 'Z' {
				zone = `[+-][0-9]{4}`
			}
			if c == 'X' {
				zone = "(Z|" + zone + ")"
			}
			re.WriteString(zone)
			lexical = false
			continue
		default:
			return datePattern{}, fmt.Errorf("pattern letters %q are not supported", strings.Repeat(string(c), n))
		}
		if r, ok := rank[c]; ok {
			if r <= last || !fixed {
				lexical = false
			}
			last = r
		} else {
			lexical = false
		}
	}
	re.WriteByte('$')
	return datePattern{re: re.String(), lexical: lexical}, nil
}

// isoDate and isoTimestamp are the format spellings that mean the engine's own date and
// timestamp checks (YYYY-MM-DD; RFC 3339 with a zone).
var (
	isoDate      = []string{"", "yyyy-MM-dd", "uuuu-MM-dd", "date", "iso8601", "iso-8601"}
	isoTimestamp = []string{"", "date-time", "iso8601", "iso-8601", "rfc3339"}
)

// temporal maps date, timestamp and time properties: the type (with the engine's checks
// when the format is ISO, with a pattern rule otherwise) and the bounds.
func (m *mapper) temporal(f *rules.SpecField, lt string, o *LogicalTypeOptions, name, acc, label string,
	at, opt func(string) rules.Pos) []rules.SpecRule {
	var out []rules.SpecRule
	format := o.Format
	zoneless := o.Timezone != nil && !*o.Timezone
	var (
		guard   string           // "acc is a well-formed value" for bound checks
		compare func(string) any // bound string -> literal operand, or an error
		pattern datePattern
		err     error
	)
	switch {
	case lt == "date" && contains(isoDate, format):
		f.Type = rules.Str{Value: rules.TypeDate, Pos: at("logicalType")}
		guard = fmt.Sprintf("is_date(%s)", acc)
		compare = func(b string) any {
			if _, err := time.Parse(time.DateOnly, b); err != nil {
				return fmt.Errorf("%q is not a yyyy-MM-dd date", b)
			}
			return fmt.Sprintf("%s %%s %s", acc, strconv.Quote(b))
		}
	case lt == "timestamp" && contains(isoTimestamp, format) && !zoneless:
		f.Type = rules.Str{Value: rules.TypeTimestamp, Pos: at("logicalType")}
		guard = fmt.Sprintf("is_timestamp(%s)", acc)
		compare = func(b string) any {
			if _, err := time.Parse(time.RFC3339Nano, b); err != nil {
				return fmt.Errorf("%q is not an RFC 3339 timestamp", b)
			}
			return fmt.Sprintf("to_time(%s) %%s to_time(%s)", acc, strconv.Quote(b))
		}
	default:
		switch {
		case format != "":
			pattern, err = parseDatePattern(format)
		case lt == "timestamp": // ISO without a zone
			pattern = datePattern{re: `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$`, lexical: true}
		case lt == "time" && zoneless:
			pattern = datePattern{re: `^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?$`, lexical: true}
		case lt == "time":
			pattern = datePattern{re: extraFormats["time"], lexical: false}
		}
		f.Type = rules.Str{Value: rules.TypeString, Pos: at("logicalType")}
		if err != nil {
			m.note(opt("format"), "%s: %s format %q is not enforced (%v); only the type string is checked", name, lt, format, err)
			pattern = datePattern{}
			break
		}
		re := strconv.Quote(pattern.re)
		pos := opt("format")
		if format == "" {
			pos = at("logicalType")
		}
		what := fmt.Sprintf("a %s", lt)
		if format != "" {
			what = fmt.Sprintf("a %s in the format %s", lt, format)
		}
		out = append(out, m.rule(name+".format", pos,
			fmt.Sprintf("%s == nil || is_string(%s) && match(%s, %s)", acc, acc, acc, re),
			fmt.Sprintf("%s must be %s", label, what)))
		if pattern.lexical {
			guard = fmt.Sprintf("match(%s, %s)", acc, re)
			rx := regexp.MustCompile(pattern.re)
			compare = func(b string) any {
				if !rx.MatchString(b) {
					return fmt.Errorf("%q does not match the format", b)
				}
				return fmt.Sprintf("%s %%s %s", acc, strconv.Quote(b))
			}
		}
	}
	bounds := []struct {
		key, op, word string
		v             *Any
	}{
		{"minimum", ">=", "at or after", o.Minimum}, {"exclusiveMinimum", ">", "after", o.ExclusiveMinimum},
		{"maximum", "<=", "at or before", o.Maximum}, {"exclusiveMaximum", "<", "before", o.ExclusiveMaximum},
	}
	for _, bd := range bounds {
		b, ok := str(bd.v)
		if !ok {
			continue
		}
		if compare == nil {
			m.note(opt(bd.key), "%s: %s %q is not enforced (bounds are compared only for ISO values or fixed-width formats without a zone)", name, bd.key, b)
			continue
		}
		switch c := compare(b).(type) {
		case error:
			m.errorf(opt(bd.key), "%s: %s %v", label, bd.key, c)
		case string:
			out = append(out, m.rule(name+"."+bd.key, opt(bd.key),
				fmt.Sprintf("%s == nil || !%s || %s", acc, guard, fmt.Sprintf(c, bd.op)),
				fmt.Sprintf("%s must be %s %s", label, bd.word, b)))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
