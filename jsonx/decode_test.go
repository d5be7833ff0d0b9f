package jsonx

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string
	}{
		{"empty", ``, Limits{}, `empty: record is empty`},
		{"only whitespace", " \t\r\n", Limits{}, `empty: record has only whitespace (4 bytes)`},
		{"bom", "\xef\xbb\xbf{}", Limits{}, `bom: record starts with a UTF-8 byte order mark at byte 0`},
		{"duplicate key", `{"a":1,"a":2}`, Limits{}, `duplicate_key: key "a" repeated at byte 7`},
		{"duplicate key nested", `{"x":{"a":1,"b":[{"c":1,"c":2}]}}`, Limits{}, `duplicate_key: key "c" repeated at byte 24`},
		{"duplicate key by escape", `{"a":1,"\u0061":2}`, Limits{}, `duplicate_key: key "a" repeated at byte 7`},
		{"duplicate key in big object", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k3":0}`, Limits{}, `duplicate_key: key "k3" repeated at byte 143`},
		{"top-level array", ` [1]`, Limits{}, `not_object: top-level value is an array at byte 1`},
		{"top-level string", `"x"`, Limits{}, `not_object: top-level value is a string at byte 0`},
		{"top-level number", `42`, Limits{}, `not_object: top-level value is a number at byte 0`},
		{"top-level null", `null`, Limits{}, `not_object: top-level value is null at byte 0`},
		{"top-level bool", `true`, Limits{}, `not_object: top-level value is a boolean at byte 0`},
		{"malformed array is not not_object", `[1,2`, Limits{}, `invalid_json: unexpected end of input at byte 4`},
		{"non-JSON text", `hello world`, Limits{}, `invalid_json: invalid character 'h' looking for beginning of value at byte 0`},
		{"bad literal", `nope`, Limits{}, `invalid_json: invalid character 'o' in literal null at byte 1`},
		{"trailing comma in array", `{"a":[1,]}`, Limits{}, `invalid_json: invalid character ']' looking for beginning of value at byte 8`},
		{"trailing comma in object", `{"a":1,}`, Limits{}, `invalid_json: invalid character '}' looking for beginning of object key string at byte 7`},
		{"trailing garbage", `{"a":1}x`, Limits{}, `invalid_json: invalid character 'x' after top-level value at byte 7`},
		{"two objects", `{"a":1} {"b":2}`, Limits{}, `invalid_json: invalid character '{' after top-level value at byte 8`},
		{"missing colon", `{"a" 1}`, Limits{}, `invalid_json: invalid character '1' after object key at byte 5`},
		{"missing comma", `{"a":1 "b":2}`, Limits{}, `invalid_json: invalid character '"' after object key:value pair at byte 7`},
		{"array missing comma", `{"a":[1 2]}`, Limits{}, `invalid_json: invalid character '2' after array element at byte 8`},
		{"unquoted key", `{a:1}`, Limits{}, `invalid_json: invalid character 'a' looking for beginning of object key string at byte 1`},
		{"single quotes", `{'a':1}`, Limits{}, `invalid_json: invalid character '\'' looking for beginning of object key string at byte 1`},
		{"comment", `{"a":1 /* c */}`, Limits{}, `invalid_json: invalid character '/' after object key:value pair at byte 7`},
		{"NaN", `{"a":NaN}`, Limits{}, `invalid_json: invalid character 'N' looking for beginning of value at byte 5`},
		{"leading zero", `{"a":01}`, Limits{}, `invalid_json: invalid character '1' after object key:value pair at byte 6`},
		{"plus sign", `{"a":+1}`, Limits{}, `invalid_json: invalid character '+' looking for beginning of value at byte 5`},
		{"lone minus", `{"a":-}`, Limits{}, `invalid_json: invalid character '}' in numeric literal at byte 6`},
		{"dot without digits", `{"a":1.}`, Limits{}, `invalid_json: invalid character '}' after decimal point in numeric literal at byte 7`},
		{"exponent without digits", `{"a":1e+}`, Limits{}, `invalid_json: invalid character '}' in exponent of numeric literal at byte 8`},
		{"number overflow", `{"a":-1e999}`, Limits{}, `invalid_json: number -1e999 out of float64 range at byte 5`},
		{"unterminated string", `{"a":"x`, Limits{}, `invalid_json: unexpected end of input at byte 7`},
		{"unterminated object", `{"a":1`, Limits{}, `invalid_json: unexpected end of input at byte 6`},
		{"raw newline in string", "{\"a\":\"x\ny\"}", Limits{}, `invalid_json: invalid character '\n' in string literal at byte 7`},
		{"raw control char after escape", "{\"a\":\"\\n\x01\"}", Limits{}, `invalid_json: invalid character '\x01' in string literal at byte 8`},
		{"bad escape", `{"a":"\q"}`, Limits{}, `invalid_json: invalid character 'q' in string escape code at byte 7`},
		{"bad unicode escape", `{"a":"\u12G4"}`, Limits{}, `invalid_json: invalid character 'G' in \u hexadecimal character escape at byte 10`},
		{"short unicode escape", `{"a":"\u12`, Limits{}, `invalid_json: unexpected end of input at byte 10`},
		{"invalid utf8 in string", "{\"a\":\"ok\xff\"}", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xff in string at byte 8`},
		{"invalid utf8 in key", "{\"\xc3\x28\":1}", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xc3 in string at byte 2`},
		{"invalid utf8 after escape", "{\"a\":\"\\n\xed\xa0\x80\"}", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xed in string at byte 8`},
		{"overlong utf8", "{\"a\":\"\xc0\xaf\"}", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xc0 in string at byte 6`},
		{"invalid utf8 outside string", "{\"a\":1}\xff", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xff at byte 7`},
		{"invalid utf8 as value", "{\"a\":\xfe}", Limits{}, `invalid_utf8: invalid UTF-8 byte 0xfe at byte 5`},
		{"valid utf8 outside string", "{\"a\":1}é", Limits{}, `invalid_json: invalid character '\xc3' after top-level value at byte 7`},
		{"lone high surrogate", `{"a":"\ud800"}`, Limits{}, `invalid_utf8: unpaired surrogate \ud800 at byte 6`},
		{"lone low surrogate", `{"a":"\udc00"}`, Limits{}, `invalid_utf8: unpaired surrogate \udc00 at byte 6`},
		{"high surrogate then letter", `{"a":"\ud83dA"}`, Limits{}, `invalid_utf8: unpaired surrogate \ud83d at byte 6`},
		{"high surrogate then non-surrogate escape", `{"a":"\ud83d\u0041"}`, Limits{}, `invalid_utf8: unpaired surrogate \ud83d at byte 6`},
		{"too deep", deep(65), Limits{}, `too_deep: nesting deeper than 64 levels at byte 320`},
		{"too deep arrays", `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, Limits{}, `too_deep: nesting deeper than 64 levels at byte 68`},
		{"too deep custom", `{"a":{"b":{}}}`, Limits{MaxDepth: 2}, `too_deep: nesting deeper than 2 levels at byte 10`},
		{"too large", `{"a":"0123456789"}`, Limits{MaxBytes: 17}, `too_large: record is 18 bytes, limit is 17`},
		{"too large wins over bom", "\xef\xbb\xbf{\"a\":1}", Limits{MaxBytes: 4}, `too_large: record is 10 bytes, limit is 4`},
		{"too deep top-level array", strings.Repeat("[", 65) + strings.Repeat("]", 65), Limits{}, `too_deep: nesting deeper than 64 levels at byte 64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.in), tt.lim)
			if err == nil {
				t.Fatalf("Decode(%q) = %v, want error %q", tt.in, m, tt.want)
			}
			if m != nil {
				t.Errorf("Decode returned a map with an error: %v", m)
			}
			if err.Error() != tt.want {
				t.Errorf("Decode(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			if !strings.HasPrefix(tt.want, de.Reason+": ") {
				t.Errorf("Reason = %q, want the prefix of %q", de.Reason, tt.want)
			}
		})
	}
}

func TestDecodeLimitsBoundaries(t *testing.T) {
	deep := func(n int) string { return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1) }
	if _, err := Decode([]byte(deep(64)), Limits{}); err != nil {
		t.Errorf("depth 64 must pass with default limits: %v", err)
	}
	if _, err := Decode([]byte(deep(65)), DefaultLimits); err == nil || err.(*DecodeError).Reason != ReasonTooDeep {
		t.Errorf("depth 65 must be too_deep, got %v", err)
	}
	if _, err := Decode([]byte(deep(100)), Limits{MaxDepth: 100}); err != nil {
		t.Errorf("depth 100 with MaxDepth 100: %v", err)
	}
	exact := `{"a":"` + strings.Repeat("x", DefaultMaxBytes-8) + `"}`
	if len(exact) != DefaultMaxBytes {
		t.Fatalf("test bug: len %d", len(exact))
	}
	if _, err := Decode([]byte(exact), Limits{}); err != nil {
		t.Errorf("exactly 1 MiB must pass: %v", err)
	}
	if _, err := Decode([]byte(exact+" "), Limits{}); err == nil || err.(*DecodeError).Reason != ReasonTooLarge {
		t.Errorf("1 MiB + 1 must be too_large, got %v", err)
	}
}

func TestDecodeValues(t *testing.T) {
	in := `{"s":"plain","e":"tab\there \"q\" \\ \/ \b\f\r\n \u00e9\u20ac\ud83d\ude00 ü","t":true,"f":false,"n":null,` +
		`"i":42,"neg":-7,"zero":0,"negzero":-0,"max":9223372036854775807,"min":-9223372036854775808,` +
		`"big":9223372036854775808,"huge":123456789012345678901234567890,"id":9007199254740993,` +
		`"f1":0.1,"f2":1.5e3,"f3":-2E-2,"f4":1.0,"tiny":1e-400,` +
		`"arr":[1,"two",[3],{"four":4},[]],"obj":{"nested":{"deep":[null]}},"empty":{}, "ws" : [ 1 , 2 ] }`
	got, err := Decode([]byte(" \n"+in+"\r\n\t "), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"s": "plain", "e": "tab\there \"q\" \\ / \b\f\r\n é€😀 ü", "t": true, "f": false, "n": nil,
		"i": 42, "neg": -7, "zero": 0, "negzero": 0, "max": 9223372036854775807, "min": -9223372036854775808,
		"big": 9223372036854775808.0, "huge": 123456789012345678901234567890.0, "id": 9007199254740993,
		"f1": 0.1, "f2": 1500.0, "f3": -0.02, "f4": 1.0, "tiny": 0.0,
		"arr": []any{1, "two", []any{3}, map[string]any{"four": 4}, []any{}},
		"obj": map[string]any{"nested": map[string]any{"deep": []any{nil}}}, "empty": map[string]any{},
		"ws": []any{1, 2},
	}
	if !reflect.DeepEqual(got, want) {
		for k := range want {
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("%s: got %#v, want %#v", k, got[k], want[k])
			}
		}
		if len(got) != len(want) {
			t.Errorf("got %d members, want %d", len(got), len(want))
		}
	}
}

func TestDecodeBigObjects(t *testing.T) {
	// More members than the linear duplicate scan handles, with a nested object in the middle
	// whose pending members share the decoder's stack.
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + itoa(i) + `":`)
		if i == 100 {
			b.WriteString(`{"a":1,"b":2,"k1":3}`)
		} else {
			b.WriteString(itoa(i))
		}
	}
	b.WriteString("}")
	m, err := Decode([]byte(b.String()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 200 || m["k199"] != 199 || m["k0"] != 0 {
		t.Errorf("big object decoded wrong: len %d k199=%v", len(m), m["k199"])
	}
	if inner := m["k100"].(map[string]any); len(inner) != 3 || inner["k1"] != 3 {
		t.Errorf("nested object decoded wrong: %v", inner)
	}
}

func TestDecodeDoesNotRetainInput(t *testing.T) {
	data, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if m["customer_email"] != "anna.schmidt@example.com" || m["event_type"] != "order_placed" {
		t.Errorf("decoded strings changed with the input buffer: %v", m["customer_email"])
	}
}

func itoa(i int) string {
	b, _ := Marshal(nil, i)
	return string(b)
}

// TestDecodeResultsIndependent: values of one Decode never change when the pooled decoder
// (and its slabs) serve later calls, also from several goroutines.
func TestDecodeResultsIndependent(t *testing.T) {
	doc := func(i int) []byte {
		return []byte(`{"i":` + itoa(i*1000) + `,"s":"v` + itoa(i) + `","f":` + itoa(i) + `.5,"a":["x` + itoa(i) + `",` + itoa(-i-300) + `]}`)
	}
	check := func(m map[string]any, i int) bool {
		a := m["a"].([]any)
		return m["i"] == i*1000 && m["s"] == "v"+itoa(i) && m["f"] == float64(i)+0.5 && a[0] == "x"+itoa(i) && a[1] == -i-300
	}
	done := make(chan bool)
	for w := range 4 {
		go func() {
			ok := true
			var kept []map[string]any
			for i := range 300 {
				m, err := Decode(doc(w*1000+i), Limits{})
				if err != nil {
					ok = false
					break
				}
				kept = append(kept, m)
			}
			for i, m := range kept {
				ok = ok && check(m, w*1000+i)
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a decoded value changed after later Decode calls")
		}
	}
}
