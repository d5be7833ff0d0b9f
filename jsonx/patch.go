package jsonx

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Patch is a list of edits to a JSON object, addressed by paths of member names
// (["payment","card_number"] is payment.card_number). Apply performs them in order, exactly as
// if each edit were applied to the document left by the previous ones:
//
//   - Set creates missing parent objects; it fails with ErrNotObject when a parent exists but
//     is not an object.
//   - Delete and Rename do nothing when their source does not exist (or a parent is not an
//     object).
//   - A member that exists in the input keeps its place in its object whatever is done to it,
//     unless it ends up deleted; new members are appended in the order they were first set.
//
// The zero Patch is empty and ready to use. Paths are kept, not copied: do not modify a path
// slice after passing it. Apply only reads the Patch, so one Patch may be applied to many
// records concurrently; Reset empties it for reuse.
type Patch struct {
	ops []op
	err error
}

type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opRename
)

type op struct {
	kind     opKind
	path, to []string
	val      any
}

// Reset empties the patch, keeping its storage.
func (p *Patch) Reset() {
	clear(p.ops)
	p.ops, p.err = p.ops[:0], nil
}

// Empty reports whether the patch has no edits.
func (p *Patch) Empty() bool { return p == nil || (len(p.ops) == 0 && p.err == nil) }

// Set sets the member at path to v, encoded by Marshal when the patch is applied (so v must
// not change until then).
func (p *Patch) Set(path []string, v any) {
	if len(path) == 0 {
		p.setErr(errors.New("set: empty path"))
		return
	}
	p.ops = append(p.ops, op{kind: opSet, path: path, val: v})
}

// Delete removes the member at path if it exists.
func (p *Patch) Delete(path []string) {
	if len(path) == 0 {
		p.setErr(errors.New("delete: empty path"))
		return
	}
	p.ops = append(p.ops, op{kind: opDelete, path: path})
}

// Rename moves the member at from to the path to, replacing what is there and creating
// missing parents like Set. The value keeps its exact input bytes and the edits made below
// from so far. When from does not exist Rename does nothing.
func (p *Patch) Rename(from, to []string) {
	if len(from) == 0 || len(to) == 0 {
		p.setErr(errors.New("rename: empty path"))
		return
	}
	p.ops = append(p.ops, op{kind: opRename, path: from, to: to})
}

func (p *Patch) setErr(err error) {
	if p.err == nil {
		p.err = err
	}
}

// Apply returns raw with the patch applied; see AppendApply. When the patch is empty (or nil)
// it returns raw itself, not a copy.
func Apply(raw []byte, p *Patch) ([]byte, error) {
	if p.Empty() {
		return raw, nil
	}
	return AppendApply(make([]byte, 0, len(raw)+128), raw, p)
}

// AppendApply appends raw with the patch applied to dst and returns the extended buffer. raw
// should be a record Decode accepted; on other input AppendApply may fail with ErrMalformed
// (it never panics). Every member on no edited path is copied byte for byte, with the
// whitespace inside and around it; only the objects on edited paths are scanned. With an
// empty patch it appends raw unchanged. On error dst is returned with its original length.
func AppendApply(dst, raw []byte, p *Patch) ([]byte, error) {
	if p.Empty() {
		return append(dst, raw...), nil
	}
	if p.err != nil {
		return dst, p.err
	}
	start := skipSpaceAt(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return dst, fmt.Errorf("%w: top level is not an object", ErrMalformed)
	}
	a := applierPool.Get().(*applier)
	defer a.release()
	a.raw = raw
	root := &node{kind: nodeRaw, vs: start}
	if !a.index(root) {
		return dst, fmt.Errorf("%w: bad object at byte %d", ErrMalformed, start)
	}
	for i := range p.ops {
		if err := a.do(root, &p.ops[i]); err != nil {
			return dst, err
		}
	}
	n := len(dst)
	dst = append(dst, raw[:start]...)
	dst, err := a.object(dst, root)
	if err != nil {
		return dst[:n], err
	}
	return append(dst, raw[root.ve:]...), nil
}

// The edits are first replayed on a tree of the touched members, looking at the input only
// where an edit needs to know what is there; the tree is then written out in one pass.

type nodeKind uint8

const (
	nodeRaw    nodeKind = iota // the input value at raw[vs:ve], edited by kids if it is an object
	nodeSet                    // a new value, val
	nodeDelete                 // removed
	nodeFresh                  // a new object made of kids
)

type node struct {
	name string
	kind nodeKind
	val  any
	vs   int // nodeRaw: the input value's span
	ve   int
	// nodeRaw objects: members of the input object, a range of applier.members (built once).
	lo, hi  int
	indexed bool
	kids    []*node
}

type rawMember struct {
	ks, ke, vs, ve int // key literal and value spans
	escaped        bool
}

type applier struct {
	raw     []byte
	members []rawMember
}

var applierPool = sync.Pool{New: func() any { return new(applier) }}

func (a *applier) release() {
	a.raw = nil
	a.members = a.members[:0]
	applierPool.Put(a)
}

func isObject(raw []byte, n *node) bool { return n.kind == nodeRaw && raw[n.vs] == '{' }

// index records the members of the input object n (a nodeRaw at '{') and n's end.
func (a *applier) index(n *node) bool {
	if n.indexed {
		return true
	}
	s := newMemberScan(a.raw, n.vs)
	n.lo = len(a.members)
	for s.next() {
		a.members = append(a.members, rawMember{s.keyStart, s.keyEnd, s.valueStart, s.valueEnd, s.escaped})
	}
	if s.err {
		return false
	}
	n.hi, n.ve, n.indexed = len(a.members), s.closeEnd, true
	return true
}

// rawChild finds the input member name of the input object n.
func (a *applier) rawChild(n *node, name string) (*node, bool) {
	if !a.index(n) {
		return nil, false
	}
	for _, m := range a.members[n.lo:n.hi] {
		if keyEquals(a.raw, m.ks, m.ke, m.escaped, name) {
			return &node{name: name, kind: nodeRaw, vs: m.vs, ve: m.ve}, true
		}
	}
	return nil, false
}

func (n *node) child(name string) (int, *node) {
	for i, k := range n.kids {
		if k.name == name {
			return i, k
		}
	}
	return -1, nil
}

// materialize turns a node set to a map[string]any into a fresh object whose kids are the
// map's members, so edits below it can address them (the caller's map is not modified).
func (n *node) materialize() {
	m := n.val.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n.kind, n.val, n.kids = nodeFresh, nil, make([]*node, 0, len(keys))
	for _, k := range keys {
		n.kids = append(n.kids, &node{name: k, kind: nodeSet, val: m[k]})
	}
}

// walk goes to the object holding path's last member. For a write (Set, Rename's target) it
// creates missing objects and fails with ErrNotObject on a non-object; for a read it returns
// nil when the parent does not exist.
func (a *applier) walk(root *node, path []string, write bool, verb string, full []string) (*node, error) {
	n := root
	for i, name := range path[:len(path)-1] {
		_, k := n.child(name)
		if k == nil {
			if n.kind == nodeRaw {
				k, _ = a.rawChild(n, name)
			}
			if k == nil {
				if !write {
					return nil, nil
				}
				k = &node{name: name, kind: nodeFresh}
			}
			n.kids = append(n.kids, k)
		}
		switch k.kind {
		case nodeDelete:
			if !write {
				return nil, nil
			}
			k.kind, k.kids = nodeFresh, nil
		case nodeSet:
			if _, ok := k.val.(map[string]any); !ok {
				if !write {
					return nil, nil
				}
				return nil, fmt.Errorf("%s %s: %s is %w (set to %T)", verb, strings.Join(full, "."), strings.Join(path[:i+1], "."), ErrNotObject, k.val)
			}
			k.materialize()
		case nodeRaw:
			if a.raw[k.vs] != '{' {
				if !write {
					return nil, nil
				}
				return nil, fmt.Errorf("%s %s: %s is %w in the input", verb, strings.Join(full, "."), strings.Join(path[:i+1], "."), ErrNotObject)
			}
			if !a.index(k) {
				return nil, fmt.Errorf("%w: bad object at byte %d", ErrMalformed, k.vs)
			}
		}
		n = k
	}
	return n, nil
}

// do replays one edit on the tree.
func (a *applier) do(root *node, o *op) error {
	switch o.kind {
	case opSet:
		parent, err := a.walk(root, o.path, true, "set", o.path)
		if err != nil {
			return err
		}
		a.put(parent, &node{name: o.path[len(o.path)-1], kind: nodeSet, val: o.val})
	case opDelete:
		parent, _ := a.walk(root, o.path, false, "", nil)
		if parent == nil {
			return nil
		}
		name := o.path[len(o.path)-1]
		if i, k := parent.child(name); k != nil {
			parent.kids[i] = &node{name: name, kind: nodeDelete}
		} else if parent.kind == nodeRaw {
			if _, ok := a.rawChild(parent, name); ok {
				parent.kids = append(parent.kids, &node{name: name, kind: nodeDelete})
			}
		}
	case opRename:
		parent, _ := a.walk(root, o.path, false, "", nil)
		if parent == nil {
			return nil
		}
		name := o.path[len(o.path)-1]
		i, moved := parent.child(name)
		switch {
		case moved != nil && moved.kind == nodeDelete:
			return nil
		case moved != nil:
			parent.kids[i] = &node{name: name, kind: nodeDelete}
		case parent.kind == nodeRaw:
			var ok bool
			if moved, ok = a.rawChild(parent, name); !ok {
				return nil
			}
			parent.kids = append(parent.kids, &node{name: name, kind: nodeDelete})
		default:
			return nil
		}
		dest, err := a.walk(root, o.to, true, "rename", o.to)
		if err != nil {
			return err
		}
		moved.name = o.to[len(o.to)-1]
		a.put(dest, moved)
	}
	return nil
}

// put makes k the member k.name of parent, replacing the node there.
func (a *applier) put(parent, k *node) {
	if i, old := parent.child(k.name); old != nil {
		parent.kids[i] = k
		return
	}
	parent.kids = append(parent.kids, k)
}

// object writes the input object n edited by its kids.
func (a *applier) object(dst []byte, n *node) ([]byte, error) {
	raw := a.raw
	if !a.index(n) {
		return dst, fmt.Errorf("%w: bad object at byte %d", ErrMalformed, n.vs)
	}
	var doneBits uint64
	var doneSlice []bool
	if len(n.kids) > 64 {
		doneSlice = make([]bool, len(n.kids))
	}
	members := a.members[n.lo:n.hi]
	if len(members) == 0 {
		dst = append(dst, raw[n.vs:n.ve-1]...) // '{' and any whitespace
	} else {
		dst = append(dst, raw[n.vs:members[0].ks]...)
	}
	first := true
	for mi, m := range members {
		var kid *node
		for i, k := range n.kids {
			if keyEquals(raw, m.ks, m.ke, m.escaped, k.name) {
				kid = k
				if doneSlice != nil {
					doneSlice[i] = true
				} else {
					doneBits |= 1 << uint(i)
				}
				break
			}
		}
		if kid != nil && kid.kind == nodeDelete {
			continue
		}
		if !first {
			dst = append(dst, raw[members[mi-1].ve:m.ks]...) // the input's ", " before this member
		}
		first = false
		if kid == nil {
			dst = append(dst, raw[m.ks:m.ve]...)
			continue
		}
		dst = append(dst, raw[m.ks:m.vs]...)
		var err error
		if dst, err = a.value(dst, kid); err != nil {
			return dst, err
		}
	}
	for i, k := range n.kids {
		if doneSlice != nil && doneSlice[i] || doneSlice == nil && doneBits&(1<<uint(i)) != 0 || k.kind == nodeDelete {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k.name)
		dst = append(dst, ':')
		var err error
		if dst, err = a.value(dst, k); err != nil {
			return dst, err
		}
	}
	if len(members) == 0 {
		return append(dst, '}'), nil
	}
	return append(dst, raw[members[len(members)-1].ve:n.ve]...), nil // whitespace and '}'
}

// value writes the value of node k.
func (a *applier) value(dst []byte, k *node) ([]byte, error) {
	switch k.kind {
	case nodeSet:
		return Marshal(dst, k.val)
	case nodeFresh:
		dst = append(dst, '{')
		first := true
		for _, kk := range k.kids {
			if kk.kind == nodeDelete {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendString(dst, kk.name)
			dst = append(dst, ':')
			var err error
			if dst, err = a.value(dst, kk); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	if len(k.kids) == 0 || !isObject(a.raw, k) {
		return append(dst, a.raw[k.vs:k.ve]...), nil
	}
	return a.object(dst, k)
}
