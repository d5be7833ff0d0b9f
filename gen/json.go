package gen

import (
	"github.com/meshgate/meshgate/jsonx"
)

// obj is a JSON object that keeps its members in insertion order, so generated events read
// like the ones a real producer writes and defects can edit them in place.
type obj struct{ f []field }

type field struct {
	k string
	v any
}

func (o *obj) get(k string) any {
	for _, f := range o.f {
		if f.k == k {
			return f.v
		}
	}
	return nil
}

// set replaces the member k in place, or appends it.
func (o *obj) set(k string, v any) *obj {
	for i := range o.f {
		if o.f[i].k == k {
			o.f[i].v = v
			return o
		}
	}
	o.f = append(o.f, field{k, v})
	return o
}

func (o *obj) del(k string) {
	for i := range o.f {
		if o.f[i].k == k {
			o.f = append(o.f[:i], o.f[i+1:]...)
			return
		}
	}
}

// sub returns the member k, which must be an object.
func (o *obj) sub(k string) *obj { return o.get(k).(*obj) }

// money is an amount in cents, written as a JSON number with at most two decimals.
type money int64

// appendJSON writes v compactly: *obj in member order, []any, and scalars via jsonx.Marshal.
func appendJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case *obj:
		dst = append(dst, '{')
		for i, f := range x.f {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonx.AppendString(dst, f.k)
			dst = append(dst, ':')
			dst = appendJSON(dst, f.v)
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e)
		}
		return append(dst, ']')
	case money:
		b, _ := jsonx.Marshal(dst, float64(x)/100)
		return b
	}
	b, err := jsonx.Marshal(dst, v)
	if err != nil {
		// Only the generator's own values get here; they are all encodable.
		panic("gen: cannot encode " + err.Error())
	}
	return b
}
