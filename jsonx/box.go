package jsonx

import "unsafe"

// Boxing values into interfaces without one allocation each.
//
// Converting a string, float64 or large int to `any` allocates a small heap cell per value;
// for a 1 KB event that is most of Decode's allocations. Instead the decoder keeps slabs (one
// slice per kind per Decode call) and builds each interface value to point at its slot,
// exactly the shape the compiler's own conversion produces: a type word and a pointer to an
// immutable copy of the value. Slots are written once and never changed, slabs are never
// reused across Decode calls (so one event's values never keep another event's memory alive),
// and the GC sees ordinary interior pointers into typed arrays.

// eface is the memory layout of an empty interface.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType  = typeWord("")
	float64Type = typeWord(float64(0))
	intType     = typeWord(int(0))
)

func makeAny(typ, data unsafe.Pointer) (v any) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, data
	return v
}

// slab hands out write-once slots of T in chunks that grow as the document needs.
type slab[T any] struct {
	chunk []T
	next  int // size of the next chunk
}

// reset forgets the current chunk; the next one holds first values.
func (s *slab[T]) reset(first int) { s.chunk, s.next = nil, min(max(first, 4), 256) }

func (s *slab[T]) put(v T) unsafe.Pointer {
	if len(s.chunk) == cap(s.chunk) {
		s.chunk = make([]T, 0, s.next)
		if s.next < 256 {
			s.next *= 2
		}
	}
	s.chunk = append(s.chunk, v)
	return unsafe.Pointer(&s.chunk[len(s.chunk)-1])
}

func (d *decoder) boxString(s string) any { return makeAny(stringType, d.strs.put(s)) }

func (d *decoder) boxFloat(f float64) any { return makeAny(float64Type, d.floats.put(f)) }

func (d *decoder) boxInt(i int) any {
	if i >= 0 && i < 256 {
		return i // the runtime boxes small ints without allocating
	}
	return makeAny(intType, d.ints.put(i))
}
