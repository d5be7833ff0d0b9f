package rules

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meshgate/meshgate/jsonx"
)

// Uniqueness rules. A rule with unique: {key, window, maxKeys} fails (always as a warning)
// for an event whose key another record already had within the window, as far as the
// judging process has seen. The memory lives in a State, not in the immutable Contract:
// one State per worker, shared by the Evaluators of all its shards.
//
// Why warn only: whether an event repeats a key depends on what this process judged before
// (which shards it holds, since when, how far it is into the stream), so a routing decision
// based on it would send the same record to different places on replay, in `meshgate diff`,
// on an at-least-once re-delivery or after a lease moved to another worker. Routing stays a
// pure function of the event and the contract; uniqueness is counted and alerted on.

// Defaults and bounds of unique rules.
const (
	// DefaultUniqueWindow is how long a key is remembered when the rule names no window.
	DefaultUniqueWindow = time.Hour
	// DefaultUniqueMaxKeys is the number of keys a rule remembers when it names no maxKeys.
	DefaultUniqueMaxKeys = 100_000
	// MaxUniqueMaxKeys bounds maxKeys: at about 64 bytes per key, 10 million keys are
	// about 640 MB per rule and per worker.
	MaxUniqueMaxKeys = 10_000_000
)

// uniqueRule is the compiled unique: part of a rule.
type uniqueRule struct {
	keys    []valueExpr
	srcs    []string // the key expressions as written
	window  time.Duration
	maxKeys int
}

// compileUnique compiles the unique: part of rule r. It reports errors like every rule.
func (cc *compiler) compileUnique(sr *SpecRule, r *rule, sc *scope) {
	u := sr.Unique
	r.unique = &uniqueRule{window: DefaultUniqueWindow, maxKeys: DefaultUniqueMaxKeys}
	r.severity = SeverityWarn
	switch sr.Severity.Value {
	case "", string(SeverityWarn):
	case string(SeverityError):
		cc.errorf(sr.Severity.Pos, "rule %q: a unique rule must have severity warn: whether an event repeats a key depends on what this worker judged before, and routing must stay a function of the event and the contract", r.name)
	default:
		cc.errorf(sr.Severity.Pos, "rule %q: severity of a unique rule must be %q (or absent), got %q", r.name, SeverityWarn, sr.Severity.Value)
	}
	if len(u.Key) == 0 {
		cc.errorf(u.Pos, "rule %q: unique.key must name at least one expression", r.name)
	}
	for i, k := range u.Key {
		what := fmt.Sprintf("rule %q unique.key", r.name)
		if len(u.Key) > 1 {
			what = fmt.Sprintf("rule %q unique.key[%d]", r.name, i)
		}
		x := cc.compileValue(k, what, sc)
		r.unique.keys = append(r.unique.keys, x)
		r.unique.srcs = append(r.unique.srcs, strings.TrimSpace(k.Src))
		if i == 0 {
			r.valuePath = x.path
		}
	}
	if u.Window.Value != "" {
		w, err := parseDuration(u.Window.Value)
		switch {
		case err != nil || w <= 0:
			cc.errorf(u.Window.Pos, "rule %q: unique.window must be a positive duration like 1h, 30m or 7d, got %q", r.name, u.Window.Value)
		default:
			r.unique.window = w
		}
	}
	if u.MaxKeys != nil {
		if n := u.MaxKeys.Value; n < 1 || n > MaxUniqueMaxKeys {
			cc.errorf(u.MaxKeys.Pos, "rule %q: unique.maxKeys must be between 1 and %d, got %d", r.name, MaxUniqueMaxKeys, n)
		} else {
			r.unique.maxKeys = n
		}
	}
	if r.message == "rule "+r.name+" failed" {
		r.message = fmt.Sprintf("%s was already seen within %s", strings.Join(r.unique.srcs, ", "), ShortDuration(r.unique.window))
	}
}

// ShortDuration renders a duration the way contracts write it: 1h0m0s as 1h, 1h30m0s as
// 1h30m (messages, lint notes and alert descriptions quote windows this way).
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// State is what the uniqueness rules of the contracts judged by one process remember: per
// unique rule, the hashed keys seen within its window, oldest first. Give one State to all
// Evaluators of a worker (Evaluator.UseState) so that its shards share it; an Evaluator
// without one uses a private State of its own (fine for one goroutine: meshgate check,
// replay, diff). A State is safe for concurrent use.
//
// Keys are stored as 64-bit hashes with a seed chosen per State (so per process): memory is
// bounded (about 64 bytes per key, at most maxKeys per rule) and key values are never kept.
// Two distinct keys share a hash with a probability of about n²/2⁶⁵ for n keys in a window
// (3·10⁻¹⁰ for 100,000 keys): such a collision is a false warning, never a routing change.
//
// A rule's memory is identified by its domain, stage, name, key expressions, window and
// maxKeys. A reloaded contract set whose rule is unchanged keeps the memory (and its
// window); a changed rule starts empty. Memory of a rule idle for longer than its window
// holds only expired keys and is released by Report.
type State struct {
	seed maphash.Seed
	mu   sync.Mutex
	rws  map[string]*keyWindow
}

// NewState returns an empty State.
func NewState() *State { return &State{seed: maphash.MakeSeed(), rws: map[string]*keyWindow{}} }

// UniqueStat describes the memory of one unique rule (see State.Report).
type UniqueStat struct {
	Domain, Stage, Rule string
	// Keys is the number of keys held now.
	Keys int
	// Evicted is the number of keys dropped before their window ended, because maxKeys was
	// reached, since the previous Report (a delta: add it to a counter).
	Evicted uint64
}

// Report releases the memory of rules idle for longer than their window at now and calls
// fn once per rule with what it holds, sorted by domain, stage and rule. Evicted counts are
// handed out once: concurrent or repeated callers never see the same eviction twice.
func (s *State) Report(now time.Time, fn func(UniqueStat)) {
	s.mu.Lock()
	list := make([]*keyWindow, 0, len(s.rws))
	for _, kw := range s.rws {
		list = append(list, kw)
	}
	s.mu.Unlock()
	if len(list) == 0 {
		return
	}
	type k3 struct{ d, s, r string }
	sums := map[k3]*UniqueStat{}
	var order []k3
	t := now.UnixNano()
	for _, kw := range list {
		kw.mu.Lock()
		if kw.last != 0 && t-kw.last > int64(kw.window) {
			kw.reset()
		}
		n, ev := len(kw.idx), kw.evicted-kw.reported
		kw.reported = kw.evicted
		kw.mu.Unlock()
		k := k3{kw.domain, kw.stage, kw.rule}
		st, ok := sums[k]
		if !ok {
			st = &UniqueStat{Domain: kw.domain, Stage: kw.stage, Rule: kw.rule}
			sums[k] = st
			order = append(order, k)
		}
		st.Keys += n
		st.Evicted += ev
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.d != b.d {
			return a.d < b.d
		}
		if a.s != b.s {
			return a.s < b.s
		}
		return a.r < b.r
	})
	for _, k := range order {
		fn(*sums[k])
	}
}

// bind returns the memories of c's unique rules, in c.uniques order, creating missing ones.
func (s *State) bind(c *Contract) []*keyWindow {
	out := make([]*keyWindow, len(c.uniques))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range c.uniques {
		id := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d\x00%s", c.Domain, c.Stage, r.name, r.unique.window, r.unique.maxKeys,
			strings.Join(r.unique.srcs, "\x00"))
		kw, ok := s.rws[id]
		if !ok {
			kw = &keyWindow{domain: c.Domain, stage: c.Stage, rule: r.name, window: r.unique.window,
				maxKeys: r.unique.maxKeys, idx: map[uint64]int32{}, head: -1, tail: -1, free: -1}
			s.rws[id] = kw
		}
		out[i] = kw
	}
	return out
}

// keyWindow is the memory of one unique rule: key hash → node, nodes in a doubly linked
// list from the least recently seen (head) to the most recently seen (tail), recycled
// through a free list so that a full window allocates nothing.
type keyWindow struct {
	domain, stage, rule string
	window              time.Duration
	maxKeys             int

	mu                sync.Mutex
	idx               map[uint64]int32
	nodes             []keyNode
	head, tail, free  int32
	last              int64 // UnixNano of the latest judging time seen
	evicted, reported uint64
}

type keyNode struct {
	key uint64
	// origin identifies the first record that had the key (0: unknown). The same record
	// judged again (a re-delivery) is not a duplicate of itself.
	origin     uint64
	seen       int64 // UnixNano of the latest occurrence
	prev, next int32
}

func (kw *keyWindow) reset() {
	kw.idx = map[uint64]int32{}
	kw.nodes = nil
	kw.head, kw.tail, kw.free = -1, -1, -1
}

func (kw *keyWindow) unlink(i int32) {
	n := &kw.nodes[i]
	if n.prev >= 0 {
		kw.nodes[n.prev].next = n.next
	} else {
		kw.head = n.next
	}
	if n.next >= 0 {
		kw.nodes[n.next].prev = n.prev
	} else {
		kw.tail = n.prev
	}
}

func (kw *keyWindow) pushBack(i int32) {
	n := &kw.nodes[i]
	n.prev, n.next = kw.tail, -1
	if kw.tail >= 0 {
		kw.nodes[kw.tail].next = i
	} else {
		kw.head = i
	}
	kw.tail = i
}

// drop removes node i from the list and the index and puts it on the free list.
func (kw *keyWindow) drop(i int32) {
	kw.unlink(i)
	delete(kw.idx, kw.nodes[i].key)
	kw.nodes[i].next = kw.free
	kw.free = i
}

// seen records an occurrence of key by record origin at time t (UnixNano) and reports
// whether it is a duplicate: another record (a different origin, or an unknown one) had the
// key at most window before t. The window slides: every occurrence renews the key.
func (kw *keyWindow) seen(key, origin uint64, t int64) bool {
	kw.mu.Lock()
	defer kw.mu.Unlock()
	if t > kw.last {
		kw.last = t
	}
	w := int64(kw.window)
	// Expire from the head. Judging times are almost monotonic (shards judge batches at
	// wall-clock times); an entry out of order is caught by the check below.
	for kw.head >= 0 && t-kw.nodes[kw.head].seen > w {
		kw.drop(kw.head)
	}
	if i, ok := kw.idx[key]; ok {
		n := &kw.nodes[i]
		dup := t-n.seen <= w && (origin == 0 || n.origin != origin)
		if t-n.seen > w {
			n.origin = origin // expired but not yet swept: a fresh first occurrence
		}
		if t > n.seen || t-n.seen > w {
			n.seen = t
			kw.unlink(i)
			kw.pushBack(i)
		}
		return dup
	}
	if len(kw.idx) >= kw.maxKeys {
		kw.drop(kw.head)
		kw.evicted++
	}
	var i int32
	if kw.free >= 0 {
		i = kw.free
		kw.free = kw.nodes[i].next
	} else {
		kw.nodes = append(kw.nodes, keyNode{})
		i = int32(len(kw.nodes) - 1)
	}
	kw.nodes[i] = keyNode{key: key, origin: origin, seen: t}
	kw.pushBack(i)
	kw.idx[key] = i
	return false
}

// pendingKey is a unique rule's key computed for the event being judged, recorded in the
// rule's memory only once the event is known to go to the curated stream.
type pendingKey struct {
	rule  int // index in c.rules
	kw    *keyWindow
	hash  uint64
	value string // the key rendered for Violation.Value
}

// boundContract caches a contract's rule memories for an Evaluator.
type boundContract struct {
	c   *Contract
	rws []*keyWindow
}

// UseState makes the Evaluator remember the keys of unique rules in s, shared with every
// other Evaluator using s. Without it an Evaluator uses a private State.
func (e *Evaluator) UseState(s *State) {
	e.state = s
	e.bound = e.bound[:0]
}

// memories returns the rule memories of c in e's State.
func (e *Evaluator) memories(c *Contract) []*keyWindow {
	for _, b := range e.bound {
		if b.c == c {
			return b.rws
		}
	}
	if e.state == nil {
		e.state = NewState()
	}
	rws := e.state.bind(c)
	// A worker judges with one active and at most one shadow contract at a time; a few
	// entries cover reloads without holding on to old sets.
	if len(e.bound) >= 4 {
		copy(e.bound, e.bound[1:])
		e.bound = e.bound[:3]
	}
	e.bound = append(e.bound, boundContract{c: c, rws: rws})
	return rws
}

// uniqueKeys computes the keys of c's unique rules for event m into e.pending. A rule
// whose guard is false or whose key has a nil component is skipped; one whose guard or key
// cannot be evaluated fails with the error (and remembers nothing).
func (e *Evaluator) uniqueKeys(c *Contract, m map[string]any, tr *ruleTrace) []Violation {
	e.pending = e.pending[:0]
	var out []Violation
	rws := e.memories(c)
	for ui, r := range c.uniques {
		ri := c.uniqueIdx[ui]
		if r.when != nil {
			res, err := e.vm.Run(r.when, m)
			if err != nil {
				out = append(out, e.violation(r, m, "when: "+errText(err)))
				if tr != nil {
					tr.applied[ri], tr.failed[ri] = true, true
				}
				continue
			}
			if b, ok := res.(bool); !ok || !b {
				continue
			}
		}
		e.kh.SetSeed(e.state.seed)
		var render []any
		complete := true
		var kerr error
		for _, k := range r.unique.keys {
			x, err := e.eval(k, m)
			if err != nil {
				kerr = err
				break
			}
			if x == nil {
				complete = false
				break
			}
			writeKey(&e.kh, x)
			render = append(render, x)
		}
		if kerr != nil {
			out = append(out, e.violation(r, m, "key: "+errText(kerr)))
			if tr != nil {
				tr.applied[ri], tr.failed[ri] = true, true
			}
			continue
		}
		if !complete {
			continue
		}
		var val any = render
		if len(render) == 1 {
			val = render[0]
		}
		e.pending = append(e.pending, pendingKey{rule: ri, kw: rws[ui], hash: e.kh.Sum64(), value: renderValue(e, val)})
	}
	return out
}

// commitKeys records the pending keys and returns a violation per duplicate.
func (e *Evaluator) commitKeys(c *Contract, in *Input, tr *ruleTrace) []Violation {
	if len(e.pending) == 0 {
		return nil
	}
	origin := recordOrigin(&e.kh, e.state.seed, in)
	t := in.Now.UnixNano()
	var out []Violation
	for _, p := range e.pending {
		r := c.rules[p.rule]
		if tr != nil {
			tr.applied[p.rule] = true
		}
		if p.kw.seen(p.hash, origin, t) {
			out = append(out, Violation{Rule: r.name, Severity: r.severity, Message: r.message, Value: p.value})
			if tr != nil {
				tr.failed[p.rule] = true
			}
		}
	}
	e.pending = e.pending[:0]
	return out
}

// recordOrigin hashes the identity of the source record, or returns 0 when it is unknown.
func recordOrigin(h *maphash.Hash, seed maphash.Seed, in *Input) uint64 {
	if in.SequenceNumber == "" {
		return 0
	}
	h.SetSeed(seed)
	h.WriteString(in.Stream)
	h.WriteByte(0)
	h.WriteString(in.Shard)
	h.WriteByte(0)
	h.WriteString(in.SequenceNumber)
	h.WriteByte(0)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(in.SubSequence))
	h.Write(b[:])
	if o := h.Sum64(); o != 0 {
		return o
	}
	return 1
}

// writeKey writes one key component: numbers by value (1 and 1.0 are the same key),
// strings and booleans as themselves, anything else as canonical JSON; each with a type tag
// and a length so that components cannot run into each other.
func writeKey(h *maphash.Hash, x any) {
	var b [9]byte
	switch v := x.(type) {
	case string:
		b[0] = 's'
		binary.LittleEndian.PutUint64(b[1:], uint64(len(v)))
		h.Write(b[:])
		h.WriteString(v)
		return
	case bool:
		b[0] = 'f'
		if v {
			b[0] = 't'
		}
		h.Write(b[:1])
		return
	}
	if i, ok := x.(int); ok {
		b[0] = 'i'
		binary.LittleEndian.PutUint64(b[1:], uint64(i))
		h.Write(b[:])
		return
	}
	if f, ok := toFloat(x); ok {
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			b[0] = 'i'
			binary.LittleEndian.PutUint64(b[1:], uint64(int64(f)))
		} else {
			b[0] = 'n'
			binary.LittleEndian.PutUint64(b[1:], math.Float64bits(f))
		}
		h.Write(b[:])
		return
	}
	j, err := jsonx.Marshal(nil, x)
	if err != nil {
		j = []byte(fmt.Sprint(x))
	}
	b[0] = 'j'
	binary.LittleEndian.PutUint64(b[1:], uint64(len(j)))
	h.Write(b[:])
	h.Write(j)
}
