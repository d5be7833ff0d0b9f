package jsonx

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// sameAsStd reports whether our decoded value equals what encoding/json (with UseNumber)
// decodes from the same text: ints must be exactly the json.Number's integer, floats its
// float64.
func sameAsStd(ours, std any) bool {
	switch s := std.(type) {
	case json.Number:
		switch o := ours.(type) {
		case int:
			i, err := strconv.ParseInt(string(s), 10, 64)
			return err == nil && int64(o) == i
		case float64:
			f, err := s.Float64()
			return err == nil && (o == f || math.IsNaN(o) && math.IsNaN(f))
		}
		return false
	case map[string]any:
		o, ok := ours.(map[string]any)
		if !ok || len(o) != len(s) {
			return false
		}
		for k, v := range s {
			ov, ok := o[k]
			if !ok || !sameAsStd(ov, v) {
				return false
			}
		}
		return true
	case []any:
		o, ok := ours.([]any)
		if !ok || len(o) != len(s) {
			return false
		}
		for i := range s {
			if !sameAsStd(o[i], s[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(ours, std)
}

func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// randomJSON writes a random well-formed object with duplicate-free keys, random whitespace,
// escapes, non-ASCII text and numbers of every shape.
type randomJSON struct {
	r *rand.Rand
	b []byte
}

func (g *randomJSON) ws() {
	for g.r.IntN(4) == 0 {
		g.b = append(g.b, " \t\n\r"[g.r.IntN(4)])
	}
}

func (g *randomJSON) str() {
	pieces := []string{"a", "Z", "0", " ", "é", "€", "😀", "ü", `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`,
		`\u0041`, `\u00e9`, `\u20AC`, `\ud83d\ude00`, `\u0000`, `\u001f`, "\u2028", "日本"}
	g.b = append(g.b, '"')
	for n := g.r.IntN(6); n > 0; n-- {
		g.b = append(g.b, pieces[g.r.IntN(len(pieces))]...)
	}
	g.b = append(g.b, '"')
}

func (g *randomJSON) number() {
	nums := []string{"0", "-0", "1", "-1", "42", "9007199254740993", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "123456789012345678901234567890", "0.1", "-0.5", "1e3", "1E-3", "2.5e+10",
		"1.7976931348623157e308", "5e-324", "1e-400", "0.30000000000000004", "-12.75", "100000000000000000000"}
	if g.r.IntN(2) == 0 {
		g.b = append(g.b, nums[g.r.IntN(len(nums))]...)
		return
	}
	g.b = strconv.AppendInt(g.b, g.r.Int64N(1<<62)-1<<61, 10)
}

func (g *randomJSON) value(depth int) {
	k := g.r.IntN(8)
	if depth > 6 {
		k = g.r.IntN(5)
	}
	switch k {
	case 0:
		g.str()
	case 1, 2:
		g.number()
	case 3:
		g.b = append(g.b, []string{"true", "false", "null"}[g.r.IntN(3)]...)
	case 4:
		g.str()
	case 5, 6:
		g.object(depth + 1)
	default:
		g.b = append(g.b, '[')
		for i := g.r.IntN(5); i > 0; i-- {
			g.ws()
			g.value(depth + 1)
			g.ws()
			if i > 1 {
				g.b = append(g.b, ',')
			}
		}
		g.b = append(g.b, ']')
	}
}

func (g *randomJSON) object(depth int) {
	g.b = append(g.b, '{')
	n := g.r.IntN(6)
	if g.r.IntN(10) == 0 {
		n = 20 + g.r.IntN(30) // beyond the linear duplicate scan
	}
	for i := 0; i < n; i++ {
		g.ws()
		g.b = append(g.b, `"k`...)
		g.b = strconv.AppendInt(g.b, int64(i), 10)
		g.b = append(g.b, `"`...)
		g.ws()
		g.b = append(g.b, ':')
		g.ws()
		g.value(depth)
		g.ws()
		if i < n-1 {
			g.b = append(g.b, ',')
		}
	}
	g.b = append(g.b, '}')
}

func TestDecodeDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		g := randomJSON{r: r}
		g.ws()
		g.object(1)
		g.ws()
		doc := g.b
		ours, err := Decode(doc, Limits{})
		if err != nil {
			t.Fatalf("doc %d: Decode failed on valid JSON %s: %v", i, doc, err)
		}
		std, err := stdDecode(doc)
		if err != nil {
			t.Fatalf("doc %d: encoding/json failed: %v", i, err)
		}
		if !sameAsStd(ours, std) {
			t.Fatalf("doc %d differs from encoding/json:\n%s\nours: %#v\nstd:  %#v", i, doc, ours, std)
		}
	}
}

// TestDecodeRejectsOnlyDocumented: on documents encoding/json accepts as a top-level object,
// Decode fails only for the documented stricter cases.
func TestDecodeRejectsOnlyDocumented(t *testing.T) {
	for _, doc := range []string{
		`{"a":1,"a":1}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":1e400}`,
		strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65),
	} {
		if !json.Valid([]byte(doc)) {
			t.Fatalf("test bug: %q is not json.Valid", doc)
		}
		_, err := Decode([]byte(doc), Limits{})
		if err == nil {
			t.Errorf("Decode accepted %q", doc)
			continue
		}
		checkDocumentedRejection(t, []byte(doc), err)
	}
}

func checkDocumentedRejection(t *testing.T, doc []byte, err error) {
	t.Helper()
	de := err.(*DecodeError)
	switch de.Reason {
	case ReasonDuplicateKey, ReasonInvalidUTF8, ReasonTooDeep, ReasonTooLarge, ReasonNotObject:
	case ReasonInvalidJSON:
		if !strings.Contains(de.Msg, "out of float64 range") {
			t.Errorf("encoding/json accepts %q but Decode says %v", doc, err)
		}
	default:
		t.Errorf("encoding/json accepts %q but Decode says %v", doc, err)
	}
}

func TestMarshalMatchesStd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	floats := []float64{0, 1, -1, 0.1, 39.98, 113.67, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, math.MaxFloat64,
		math.SmallestNonzeroFloat64, -0.0, 9007199254740993, 1.5e300, 2.5e-300}
	for range 2000 {
		floats = append(floats, math.Float64frombits(r.Uint64()), r.NormFloat64()*1e6, float64(r.IntN(100000))/100)
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		want, _ := json.Marshal(f)
		got, err := Marshal(nil, f)
		if err != nil || string(got) != string(want) {
			t.Fatalf("Marshal(%v) = %s, %v; encoding/json: %s", f, got, err, want)
		}
		back, err := Decode(append(append([]byte(`{"v":`), got...), '}'), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var fb float64
		switch v := back["v"].(type) {
		case int:
			fb = float64(v)
		case float64:
			fb = v
		}
		if fb != f {
			t.Fatalf("%v does not round-trip: %s -> %v", f, got, back["v"])
		}
	}
	for _, f := range []float32{0.1, 3.4e38, 1e-7, 16777217} {
		want, _ := json.Marshal(f)
		if got, _ := Marshal(nil, f); string(got) != string(want) {
			t.Errorf("Marshal(float32 %v) = %s, want %s", f, got, want)
		}
	}
}

func TestMarshalValues(t *testing.T) {
	type custom struct {
		A int `json:"a"`
	}
	tests := []struct {
		v    any
		want string
	}{
		{nil, `null`}, {true, `true`}, {"x", `"x"`}, {int8(-8), `-8`}, {uint64(math.MaxUint64), `18446744073709551615`},
		{int64(9007199254740993), `9007199254740993`}, {[]string{"a", "b"}, `["a","b"]`},
		{map[string]string{"b": "2", "a": "1"}, `{"a":"1","b":"2"}`}, {json.Number("1.50"), `1.50`},
		{"q\"\\/\b\f\n\r\t\x01\x7f<>&é\u2028", `"q\"\\/\b\f\n\r\t\u0001` + "\x7f<>&é\u2028" + `"`},
		{"bad\xffutf8", `"bad` + "\ufffd" + `utf8"`}, {custom{A: 1}, `{"a":1}`}, {[]int{1, 2}, `[1,2]`},
	}
	for _, tt := range tests {
		got, err := Marshal(nil, tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
	for _, bad := range []any{math.Inf(1), math.NaN(), Raw(`{`), json.Number("x"), make(chan int), []any{math.Inf(-1)}} {
		if _, err := Marshal(nil, bad); err == nil {
			t.Errorf("Marshal(%#v) succeeded", bad)
		}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	if _, err := Marshal(nil, cyclic); err == nil {
		t.Error("Marshal of a cyclic map succeeded")
	}
}

func TestMarshalStringsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b[i] &= 0x7f
			}
		}
		s := string(b)
		enc := AppendString(nil, s)
		m, err := Decode(append(append([]byte(`{"s":`), enc...), '}'), Limits{})
		if err != nil {
			t.Fatalf("AppendString(%q) = %s does not decode: %v", s, enc, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if utf8.ValidString(s) && m["s"] != s || m["s"] != want && !utf8.ValidString(s) && !sameReplacement(s, m["s"].(string)) {
			t.Fatalf("AppendString(%q) round-trips to %q", s, m["s"])
		}
	}
}

// sameReplacement: invalid bytes each become one U+FFFD (ToValidUTF8 merges runs).
func sameReplacement(in, out string) bool {
	var b []byte
	for i := 0; i < len(in); {
		r, n := utf8.DecodeRuneInString(in[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, in[i:i+n]...)
		}
		i += n
	}
	return string(b) == out
}

// fuzzSeeds are the inputs both fuzz targets start from.
func fuzzSeeds(f *testing.F) {
	if order, err := os.ReadFile("testdata/order.json"); err == nil {
		f.Add(order)
	}
	for _, s := range []string{`{}`, `{"a":1,"b":{"c":[1,2,{"d":null}]},"e":"\u00e9\ud83d\ude00"}`, `{"a":1,"a":2}`,
		`[1]`, "\xef\xbb\xbf{}", `{"a":9007199254740993,"b":0.1,"c":1e400}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		`{"a":{"b":{"c":{}}}} `, ` {"x" : [ true , false ] } `, `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17}`} {
		f.Add([]byte(s))
	}
}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, Limits{})
		if err != nil {
			de, ok := err.(*DecodeError)
			if !ok || !slices.Contains(Reasons, de.Reason) {
				t.Fatalf("error %#v is not a *DecodeError with a known reason", err)
			}
			if m != nil {
				t.Fatal("map returned with an error")
			}
			if std, stdErr := stdDecode(data); stdErr == nil && json.Valid(data) {
				if _, isObj := std.(map[string]any); isObj {
					checkDocumentedRejection(t, data, err)
				}
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Decode accepted %q which encoding/json rejects", data)
		}
		std, err := stdDecode(data)
		if err != nil {
			t.Fatalf("encoding/json cannot decode %q: %v", data, err)
		}
		if !sameAsStd(m, std) {
			t.Fatalf("Decode(%q) = %#v, encoding/json %#v", data, m, std)
		}
	})
}

// modelApply applies the edits to a decoded document the simple way, as the Patch doc says
// they behave. It returns false when an edit would need a non-object to be an object.
type modelEdit struct {
	kind     int // 0 set, 1 delete, 2 rename
	path, to []string
	val      any
}

func modelApply(doc map[string]any, edits []modelEdit) bool {
	parent := func(p []string, create bool) (map[string]any, bool) {
		m := doc
		for _, name := range p[:len(p)-1] {
			v, ok := m[name]
			if !ok {
				if !create {
					return nil, true
				}
				v = map[string]any{}
				m[name] = v
			}
			next, isMap := v.(map[string]any)
			if !isMap {
				return nil, !create
			}
			m = next
		}
		return m, true
	}
	for _, e := range edits {
		switch e.kind {
		case 0:
			m, ok := parent(e.path, true)
			if !ok {
				return false
			}
			m[e.path[len(e.path)-1]] = cloneValue(e.val)
		case 1:
			if m, _ := parent(e.path, false); m != nil {
				delete(m, e.path[len(e.path)-1])
			}
		case 2:
			m, _ := parent(e.path, false)
			if m == nil {
				continue
			}
			v, ok := m[e.path[len(e.path)-1]]
			if !ok {
				continue
			}
			delete(m, e.path[len(e.path)-1])
			dst, ok := parent(e.to, true)
			if !ok {
				return false
			}
			dst[e.to[len(e.to)-1]] = v
		}
	}
	return true
}

func cloneValue(v any) any {
	if m, ok := v.(map[string]any); ok {
		c := make(map[string]any, len(m))
		for k, x := range m {
			c[k] = cloneValue(x)
		}
		return c
	}
	return v
}

func collectKeys(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			into[k] = true
			collectKeys(e, into)
		}
	case []any:
		for _, e := range x {
			collectKeys(e, into)
		}
	}
}

func FuzzApply(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(data, Limits{})
		if err != nil {
			return
		}
		// Edits come from a hash of the input so the corpus stays plain JSON documents.
		keys := map[string]bool{"a": true, "b": true, "new": true}
		collectKeys(doc, keys)
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		slices.Sort(names)
		seed := uint64(len(data))
		for _, c := range data {
			seed = seed*1099511628211 + uint64(c)
		}
		r := rand.New(rand.NewPCG(seed, 7))
		randPath := func() []string {
			p := make([]string, 1+r.IntN(3))
			for i := range p {
				p[i] = names[r.IntN(len(names))]
			}
			return p
		}
		vals := []func() any{
			func() any { return 1 }, func() any { return "s" }, func() any { return 2.5 }, func() any { return nil },
			func() any { return map[string]any{"a": 1, "k": map[string]any{}} }, func() any { return []any{1, "x"} },
		}
		var p Patch
		var edits []modelEdit
		for n := 1 + r.IntN(6); n > 0; n-- {
			e := modelEdit{kind: r.IntN(3), path: randPath()}
			switch e.kind {
			case 0:
				e.val = vals[r.IntN(len(vals))]()
				p.Set(e.path, e.val)
			case 1:
				p.Delete(e.path)
			case 2:
				e.to = randPath()
				p.Rename(e.path, e.to)
			}
			edits = append(edits, e)
		}
		out, applyErr := Apply(data, &p)
		modelOK := modelApply(doc, edits)
		if applyErr != nil {
			if modelOK {
				t.Fatalf("Apply failed (%v) where the model succeeds; edits %+v on %s", applyErr, edits, data)
			}
			return
		}
		if !modelOK {
			t.Fatalf("Apply succeeded where the model fails; edits %+v on %s -> %s", edits, data, out)
		}
		if !json.Valid(out) {
			t.Fatalf("Apply output is not valid JSON: %s (edits %+v on %s)", out, edits, data)
		}
		got, err := Decode(out, Limits{MaxDepth: 1 << 20, MaxBytes: 1 << 30})
		if err != nil {
			t.Fatalf("Apply output does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got, doc) {
			t.Fatalf("Apply result differs from the model\nin:    %s\nedits: %+v\nout:   %s\nmodel: %#v", data, edits, out, doc)
		}
	})
}
