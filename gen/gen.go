// Package gen writes realistic events for the example domains (orders, customers and the
// ODCS-native payments) with a
// chosen share of bad and hostile records, deterministically from a seed. It feeds
// `meshgate gen`, the benchmarks and the end-to-end tests, which need records whose expected
// verdict is known: every Record says what it is (Kind), what the example contracts in
// examples/contracts should decide (Outcome) and which rules should fail (Rules), or which
// decode failure it is (Decode).
//
// A bad record has exactly one defect, drawn from a weighted list per domain (see Kinds). A
// hostile record is not a decodable event at all (non-JSON, invalid UTF-8, a BOM, duplicate
// keys, nesting deeper than 64, over 1 MiB, a top-level non-object, blank). Every record,
// hostile ones included, is a single NDJSON line: it never contains a raw '\n'.
package gen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Domains the generator knows, and "mixed" (70% orders, 30% customers; payments, judged by
// the ODCS-native example contract, only on request).
const (
	DomainOrders    = "orders"
	DomainCustomers = "customers"
	DomainPayments  = "payments"
	DomainMixed     = "mixed"
)

// Expected outcomes, spelled like rules.Outcome's String.
const (
	OutcomePassed      = "passed"
	OutcomeWarned      = "warned"
	OutcomeQuarantined = "quarantined"
)

// Config says what to generate. The same Config always yields the same records.
type Config struct {
	// Domain is DomainOrders, DomainCustomers, DomainPayments or DomainMixed.
	Domain string
	// Seed makes the output reproducible.
	Seed uint64
	// BadFraction is the probability that a record is a bad event (one defect), in [0,1].
	BadFraction float64
	// HostileFraction is the probability that a record is hostile (a decode failure), in
	// [0,1]. BadFraction+HostileFraction must not exceed 1.
	HostileFraction float64
	// Now anchors event times: good events happened up to 10 minutes before Now. Required.
	Now time.Time
}

// Record is one generated record and what the example contracts should make of it.
type Record struct {
	// Data is the record payload, without a trailing newline; it contains no raw '\n'.
	Data []byte
	// Domain is "orders", "customers" or "payments" (also for hostile records: the stream they
	// were sent to).
	Domain string
	// Stream is the domain's source stream, e.g. "orders-raw".
	Stream string
	// PartitionKey is the key a producer would use (the customer id where there is one).
	PartitionKey string
	// Class is Good, Bad or Hostile.
	Class Class
	// Kind is "good", a bad kind or a hostile kind (see Kinds).
	Kind string
	// Defect describes this record's defect in words ("" for good records).
	Defect string
	// Outcome is the verdict the example contracts should reach.
	Outcome string
	// Rules is the exact, sorted set of rules of the example contracts that should fail
	// (warn or error); empty for good and hostile records.
	Rules []string
	// Decode is the jsonx decode failure reason of a hostile record, else "".
	Decode string
}

// Generator produces records. It is not safe for concurrent use.
type Generator struct {
	cfg Config
	r   *rand.Rand
}

// New checks cfg and returns a Generator.
func New(cfg Config) (*Generator, error) {
	switch cfg.Domain {
	case DomainOrders, DomainCustomers, DomainPayments, DomainMixed:
	default:
		return nil, fmt.Errorf("unknown domain %q (want orders, customers, payments or mixed)", cfg.Domain)
	}
	if !(cfg.BadFraction >= 0 && cfg.BadFraction <= 1) || !(cfg.HostileFraction >= 0 && cfg.HostileFraction <= 1) {
		return nil, errors.New("bad and hostile fractions must be between 0 and 1")
	}
	if cfg.BadFraction+cfg.HostileFraction > 1 {
		return nil, fmt.Errorf("bad fraction %v plus hostile fraction %v exceed 1", cfg.BadFraction, cfg.HostileFraction)
	}
	if cfg.Now.IsZero() {
		return nil, errors.New("Now is required (events are dated relative to it)")
	}
	cfg.Now = cfg.Now.UTC()
	return &Generator{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x6d65736867617465))}, nil
}

// Next returns the next record. Its Data is freshly allocated and owned by the caller.
func (g *Generator) Next() Record {
	domain := g.cfg.Domain
	if domain == DomainMixed {
		domain = DomainOrders
		if g.float() < 0.3 {
			domain = DomainCustomers
		}
	}
	u := g.float()
	class := Good
	switch {
	case u < g.cfg.HostileFraction:
		class = Hostile
	case u < g.cfg.HostileFraction+g.cfg.BadFraction:
		class = Bad
	}
	return g.Make(domain, class, "")
}

// Make returns one record of the given domain and class. kind picks a specific bad or hostile
// kind of that domain; "" draws one by weight. It panics on an unknown domain or kind, which
// is a programming error.
func (g *Generator) Make(domain string, class Class, kind string) Record {
	var ev *obj
	var pk string
	switch domain {
	case DomainOrders:
		ev = g.order()
		pk = ev.get("customer_id").(string)
	case DomainCustomers:
		ev = g.customer()
		pk = ev.get("customer_id").(string)
	case DomainPayments:
		ev = g.payment()
		pk = ev.get("customer_id").(string)
	default:
		panic("gen: unknown domain " + domain)
	}
	rec := Record{Domain: domain, Stream: domain + "-raw", PartitionKey: pk, Class: class, Kind: "good", Outcome: OutcomePassed}
	switch class {
	case Bad:
		k := g.pick(domain, Bad, kind)
		rec.Kind, rec.Outcome = k.Name, k.Outcome
		rec.Defect, rec.Rules = k.bad(g, ev)
	case Hostile:
		k := g.pick(domain, Hostile, kind)
		rec.Kind, rec.Outcome, rec.Decode = k.Name, OutcomeQuarantined, k.Decode
		var data []byte
		data, rec.Defect = k.hostile(g, ev)
		rec.Data = data
		return rec
	}
	rec.Data = appendJSON(nil, ev)
	return rec
}

func (g *Generator) pick(domain string, class Class, name string) *Kind {
	total := 0
	for i := range kinds {
		k := &kinds[i]
		if k.Domain != domain || k.Class != class {
			continue
		}
		if name != "" && k.Name == name {
			return k
		}
		total += k.Weight
	}
	if name != "" || total == 0 {
		panic(fmt.Sprintf("gen: no %s kind %q for domain %s", class, name, domain))
	}
	n := g.intn(total)
	for i := range kinds {
		k := &kinds[i]
		if k.Domain != domain || k.Class != class {
			continue
		}
		if n < k.Weight {
			return k
		}
		n -= k.Weight
	}
	panic("unreachable")
}

// Random helpers built on Uint64 only, so the output depends on nothing but the PCG stream.

func (g *Generator) intn(n int) int { return int(g.r.Uint64() % uint64(n)) }

func (g *Generator) between(lo, hi int) int { return lo + g.intn(hi-lo+1) }

func (g *Generator) float() float64 { return float64(g.r.Uint64()>>11) / (1 << 53) }

func (g *Generator) chance(p float64) bool { return g.float() < p }

func oneOf[T any](g *Generator, xs []T) T { return xs[g.intn(len(xs))] }

// weighted picks an index by weight.
func (g *Generator) weighted(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.intn(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func (g *Generator) uuid() string {
	const hex = "0123456789abcdef"
	a, b := g.r.Uint64(), g.r.Uint64()
	var u [16]byte
	for i := 0; i < 8; i++ {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

// recent is a time up to 10 minutes before Now, with sub-second precision.
func (g *Generator) recent() time.Time {
	return g.cfg.Now.Add(-time.Duration(g.r.Uint64() % uint64(10*time.Minute)))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (g *Generator) customerID() string { return fmt.Sprintf("C%07d", g.intn(10_000_000)) }
