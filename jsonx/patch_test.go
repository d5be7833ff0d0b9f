package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func path(s string) []string { return strings.Split(s, ".") }

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		edits func(p *Patch)
		want  string
	}{
		{
			name:  "set existing keeps place, key bytes and spacing",
			in:    `{ "a" : 1 , "b":[1, 2] }`,
			edits: func(p *Patch) { p.Set(path("a"), "x") },
			want:  `{ "a" : "x" , "b":[1, 2] }`,
		},
		{
			name:  "set new member appends at the end",
			in:    `{"a":1}`,
			edits: func(p *Patch) { p.Set(path("region"), "EU"); p.Set(path("n"), 2) },
			want:  `{"a":1,"region":"EU","n":2}`,
		},
		{
			name:  "set into empty object",
			in:    `{ }`,
			edits: func(p *Patch) { p.Set(path("a"), true) },
			want:  `{ "a":true}`,
		},
		{
			name:  "set creates missing parents",
			in:    `{"a":1}`,
			edits: func(p *Patch) { p.Set(path("_meta.contract"), "orders"); p.Set(path("_meta.version"), "2.1.0") },
			want:  `{"a":1,"_meta":{"contract":"orders","version":"2.1.0"}}`,
		},
		{
			name:  "set nested existing descends only along the path",
			in:    `{"payment":{"method":"card","card_number":"4111111111111111","amount":0.10},"id":9007199254740993}`,
			edits: func(p *Patch) { p.Set(path("payment.card_number"), "[REDACTED]") },
			want:  `{"payment":{"method":"card","card_number":"[REDACTED]","amount":0.10},"id":9007199254740993}`,
		},
		{
			name:  "set matches escaped key",
			in:    `{"\u0061":1,"b":2}`,
			edits: func(p *Patch) { p.Set(path("a"), 5) },
			want:  `{"\u0061":5,"b":2}`,
		},
		{
			name:  "delete first, middle and last",
			in:    `{"a":1, "b":2, "c":3, "d":4}`,
			edits: func(p *Patch) { p.Delete(path("a")); p.Delete(path("c")); p.Delete(path("d")) },
			want:  `{"b":2}`,
		},
		{
			name:  "delete everything",
			in:    "{\n  \"a\": 1,\n  \"b\": 2\n}",
			edits: func(p *Patch) { p.Delete(path("a")); p.Delete(path("b")) },
			want:  "{\n  \n}",
		},
		{
			name: "delete missing is a no-op",
			in:   `{"a":{"b":1},"s":"x"}`,
			edits: func(p *Patch) {
				p.Delete(path("z"))
				p.Delete(path("a.z"))
				p.Delete(path("s.z"))
				p.Delete(path("q.r"))
			},
			want: `{"a":{"b":1},"s":"x"}`,
		},
		{
			name:  "delete then set again appends",
			in:    `{"a":1,"b":2}`,
			edits: func(p *Patch) { p.Delete(path("a")); p.Set(path("a"), 3) },
			want:  `{"a":3,"b":2}`,
		},
		{
			name:  "delete parent then set below creates it fresh",
			in:    `{"a":{"x":1,"y":2},"b":2}`,
			edits: func(p *Patch) { p.Delete(path("a")); p.Set(path("a.z"), 3) },
			want:  `{"a":{"z":3},"b":2}`,
		},
		{
			name:  "last edit of a path wins",
			in:    `{"a":1}`,
			edits: func(p *Patch) { p.Set(path("a"), 2); p.Delete(path("a")); p.Set(path("a"), 3) },
			want:  `{"a":3}`,
		},
		{
			name:  "set of parent replaces edits below",
			in:    `{"a":{"b":1}}`,
			edits: func(p *Patch) { p.Set(path("a.b"), 2); p.Set(path("a"), 7) },
			want:  `{"a":7}`,
		},
		{
			name: "edit below a map set earlier",
			in:   `{"a":1}`,
			edits: func(p *Patch) {
				p.Set(path("m"), map[string]any{"y": 1, "x": 2})
				p.Set(path("m.z"), 3)
				p.Delete(path("m.x"))
			},
			want: `{"a":1,"m":{"y":1,"z":3}}`,
		},
		{
			name:  "rename keeps exact bytes and moves to the end",
			in:    `{"cust_ref":  9007199254740993 ,"x":0.1}`,
			edits: func(p *Patch) { p.Rename(path("cust_ref"), path("customer_ref")) },
			want:  `{"x":0.1,"customer_ref":9007199254740993}`,
		},
		{
			name:  "rename onto existing member replaces it in place",
			in:    `{"a":1,"b":{"c": "x"}}`,
			edits: func(p *Patch) { p.Rename(path("b"), path("a")) },
			want:  `{"a":{"c": "x"}}`,
		},
		{
			name:  "rename nested to new parent",
			in:    `{"p":{"card":"4111","m":"card"}}`,
			edits: func(p *Patch) { p.Rename(path("p.card"), path("secret.card")) },
			want:  `{"p":{"m":"card"},"secret":{"card":"4111"}}`,
		},
		{
			name:  "rename missing is a no-op",
			in:    `{"a":1,"b":2}`,
			edits: func(p *Patch) { p.Rename(path("z"), path("b")) },
			want:  `{"a":1,"b":2}`,
		},
		{
			name:  "rename carries earlier edits",
			in:    `{"a":{"x":1,"y":2}}`,
			edits: func(p *Patch) { p.Set(path("a.x"), 10); p.Rename(path("a"), path("b")) },
			want:  `{"b":{"x":10,"y":2}}`,
		},
		{
			name:  "edits after rename address the new path",
			in:    `{"a":{"x":1,"y":2}}`,
			edits: func(p *Patch) { p.Rename(path("a"), path("b")); p.Set(path("b.z"), 3); p.Delete(path("b.x")) },
			want:  `{"b":{"y":2,"z":3}}`,
		},
		{
			name:  "rename into own child",
			in:    `{"a":5}`,
			edits: func(p *Patch) { p.Rename(path("a"), path("a.v")) },
			want:  `{"a":{"v":5}}`,
		},
		{
			name:  "rename child over parent",
			in:    `{"a":{"b":[1,2]},"c":1}`,
			edits: func(p *Patch) { p.Rename(path("a.b"), path("a")) },
			want:  `{"a":[1,2],"c":1}`,
		},
		{
			name:  "rename to itself is a no-op",
			in:    `{"a":1,"b":2}`,
			edits: func(p *Patch) { p.Rename(path("a"), path("a")) },
			want:  `{"a":1,"b":2}`,
		},
		{
			name:  "renamed twice",
			in:    `{"a":1}`,
			edits: func(p *Patch) { p.Rename(path("a"), path("b")); p.Rename(path("b"), path("c")) },
			want:  `{"c":1}`,
		},
		{
			name: "untouched values keep exact bytes",
			in:   `{"id":9007199254740993,"x":0.1,"e":1E+2,"s":"caf\u00e9 \"q\" \/","u":"ü😀","n":[ 1 , {"k" : -0.0} ],"t":"2024-01-01"}`,
			edits: func(p *Patch) {
				p.Set(path("t"), "2024-01-02")
			},
			want: `{"id":9007199254740993,"x":0.1,"e":1E+2,"s":"caf\u00e9 \"q\" \/","u":"ü😀","n":[ 1 , {"k" : -0.0} ],"t":"2024-01-02"}`,
		},
		{
			name:  "whitespace around top level kept",
			in:    " \n{\"a\":1}\n",
			edits: func(p *Patch) { p.Set(path("b"), 2) },
			want:  " \n{\"a\":1,\"b\":2}\n",
		},
		{
			name: "new values encode compactly with sorted map keys",
			in:   `{}`,
			edits: func(p *Patch) {
				p.Set(path("v"), map[string]any{"z": []any{1, 2.5, "s", nil, true}, "a": map[string]any{}, "m": int64(-3)})
				p.Set(path("f"), 40.0)
				p.Set(path("g"), 39.98)
				p.Set(path("r"), Raw(`{"raw": 1 }`))
				p.Set(path("r2"), Raw("{\n\"raw\": 2}"))
			},
			want: `{"v":{"a":{},"m":-3,"z":[1,2.5,"s",null,true]},"f":40,"g":39.98,"r":{"raw": 1 },"r2":{"raw":2}}`,
		},
		{
			name:  "delete inside map set earlier then empty",
			in:    `{}`,
			edits: func(p *Patch) { p.Set(path("m"), map[string]any{"x": 1}); p.Delete(path("m.x")) },
			want:  `{"m":{}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Patch
			tt.edits(&p)
			got, err := Apply([]byte(tt.in), &p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Apply\n got: %s\nwant: %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("output is not valid JSON: %s", got)
			}
			// The append variant produces the same bytes after an existing prefix.
			got2, err := AppendApply([]byte("prefix"), []byte(tt.in), &p)
			if err != nil || string(got2) != "prefix"+tt.want {
				t.Errorf("AppendApply = %q, %v", got2, err)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		edits  func(p *Patch)
		want   string
		target error
	}{
		{"set below a string", `{"a":"x"}`, func(p *Patch) { p.Set(path("a.b"), 1) },
			"set a.b: a is not an object in the input", ErrNotObject},
		{"set below a nested array", `{"a":{"b":[1]}}`, func(p *Patch) { p.Set(path("a.b.c"), 1) },
			"set a.b.c: a.b is not an object in the input", ErrNotObject},
		{"set below a value set earlier", `{}`, func(p *Patch) { p.Set(path("a"), 1); p.Set(path("a.b"), 1) },
			"set a.b: a is not an object (set to int)", ErrNotObject},
		{"rename below a non-object", `{"a":1,"b":2}`, func(p *Patch) { p.Rename(path("b"), path("a.b")) },
			"rename a.b: a is not an object in the input", ErrNotObject},
		{"empty path", `{}`, func(p *Patch) { p.Set(nil, 1) }, "set: empty path", nil},
		{"not an object", `[1]`, func(p *Patch) { p.Set(path("a"), 1) }, "malformed JSON input: top level is not an object", ErrMalformed},
		{"truncated", `{"a":1,"b":`, func(p *Patch) { p.Set(path("a"), 1) }, "malformed JSON input: bad object at byte 0", ErrMalformed},
		{"NaN value", `{}`, func(p *Patch) { p.Set(path("a"), nanValue()) }, "unsupported value: NaN", ErrUnsupportedValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Patch
			tt.edits(&p)
			_, err := Apply([]byte(tt.in), &p)
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			if tt.target != nil && !errors.Is(err, tt.target) {
				t.Errorf("error %v is not %v", err, tt.target)
			}
		})
	}
}

func TestApplyEmptyPatch(t *testing.T) {
	in := []byte(`{"a": 1}`)
	out, err := Apply(in, nil)
	if err != nil || &out[0] != &in[0] {
		t.Errorf("Apply with nil patch must return the input itself, got %q %v", out, err)
	}
	var p Patch
	out, err = Apply(in, &p)
	if err != nil || &out[0] != &in[0] {
		t.Errorf("Apply with empty patch must return the input itself")
	}
	out, err = AppendApply(nil, in, &p)
	if err != nil || string(out) != string(in) || &out[0] == &in[0] {
		t.Errorf("AppendApply with empty patch must copy the input")
	}
	p.Set(path("b"), 1)
	p.Reset()
	if !p.Empty() {
		t.Error("Reset patch must be empty")
	}
}

// TestApplyOrderEvent runs the enrichment the example orders contract does on a realistic
// event and checks every untouched member is byte-identical.
func TestApplyOrderEvent(t *testing.T) {
	in, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	var p Patch
	p.Set(path("region"), "EU")
	p.Set(path("payment.card_number"), "[REDACTED]")
	p.Set(path("customer_email"), "6f1c0b9a")
	p.Set(path("_meta"), map[string]any{"contract": "orders", "version": "2.1.0", "processedAt": time.Date(2026, 3, 14, 9, 27, 0, 0, time.UTC)})
	out, err := Apply(in, &p)
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{`"trace_id":9007199254740993`, `"ratio":0.1`, `"name":"Milk frother \"Turbo\""`,
		`"notes":"Bitte beim Nachbarn abgeben, falls niemand zu Hause ist. Leave with neighbour if nobody is home.\nDoor code 4711."`,
		`"payment":{"method":"card","card_number":"[REDACTED]","status":"authorized"}`, `"price":34.5`} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("output lacks %s", keep)
		}
	}
	if !bytes.HasSuffix(out, []byte(`,"region":"EU","_meta":{"contract":"orders","processedAt":"2026-03-14T09:27:00Z","version":"2.1.0"}}`+"\n")) {
		t.Errorf("new members not appended as expected: %s", out[len(out)-120:])
	}
	if _, err := Decode(out, Limits{}); err != nil {
		t.Errorf("output does not decode: %v", err)
	}
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

func TestApplyManyEdits(t *testing.T) {
	// More edits in one object than the applier tracks in a bit mask.
	var in strings.Builder
	in.WriteString("{")
	var p Patch
	for i := range 100 {
		if i > 0 {
			in.WriteString(", ")
		}
		k := "k" + itoa(i)
		in.WriteString(`"` + k + `": ` + itoa(i))
		switch i % 3 {
		case 0:
			p.Set([]string{k}, i*2)
		case 1:
			p.Delete([]string{k})
		}
		p.Set([]string{"n" + itoa(i)}, i)
	}
	in.WriteString("}")
	out, err := Apply([]byte(in.String()), &p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		k := "k" + itoa(i)
		switch i % 3 {
		case 0:
			if m[k] != i*2 {
				t.Errorf("%s = %v", k, m[k])
			}
		case 1:
			if _, ok := m[k]; ok {
				t.Errorf("%s not deleted", k)
			}
		case 2:
			if m[k] != i {
				t.Errorf("%s = %v", k, m[k])
			}
		}
		if m["n"+itoa(i)] != i {
			t.Errorf("n%d = %v", i, m["n"+itoa(i)])
		}
	}
}
