package gen

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/meshgate/meshgate/jsonx"
)

var (
	testNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	// stampsRE matches dates and times, also cut short (truncated hostile records).
	stampsRE = regexp.MustCompile(`[0-9]{4}-[0-9-]*(T[0-9:.]*Z?)?`)
)

func mustNew(t testing.TB, cfg Config) *Generator {
	t.Helper()
	if cfg.Now.IsZero() {
		cfg.Now = testNow
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown domain", Config{Domain: "shipments", Now: testNow}, `unknown domain "shipments" (want orders, customers, payments or mixed)`},
		{"negative fraction", Config{Domain: "orders", BadFraction: -0.1, Now: testNow}, "bad and hostile fractions must be between 0 and 1"},
		{"NaN fraction", Config{Domain: "orders", HostileFraction: math.NaN(), Now: testNow}, "bad and hostile fractions must be between 0 and 1"},
		{"sum above one", Config{Domain: "orders", BadFraction: 0.7, HostileFraction: 0.4, Now: testNow}, "bad fraction 0.7 plus hostile fraction 0.4 exceed 1"},
		{"no now", Config{Domain: "orders"}, "Now is required (events are dated relative to it)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	run := func(seed uint64, now time.Time) []byte {
		g := mustNew(t, Config{Domain: DomainMixed, Seed: seed, BadFraction: 0.2, HostileFraction: 0.05, Now: now})
		var out []byte
		for range 500 {
			rec := g.Next()
			if rec.Kind == "too_large" {
				rec.Data = append(stampsRE.ReplaceAll(rec.Data[:500], nil), itoa(len(rec.Data))...)
			}
			out = append(append(out, rec.Data...), '\n')
		}
		return out
	}
	a, b := run(42, testNow), run(42, testNow)
	if !bytes.Equal(a, b) {
		t.Fatal("the same config produced different output")
	}
	if bytes.Equal(a, run(43, testNow)) {
		t.Error("a different seed produced the same output")
	}
	// Now moves the timestamps; everything else stays (the random stream does not depend on it).
	later := run(42, testNow.Add(time.Hour))
	if bytes.Equal(a, later) {
		t.Error("Now did not change the timestamps")
	}
	if !bytes.Equal(stampsRE.ReplaceAll(a, nil), stampsRE.ReplaceAll(later, nil)) {
		t.Error("Now changed more than the timestamps")
	}
}

var (
	uuidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	custIDRE  = regexp.MustCompile(`^C[0-9]{7}$`)
	emailRE   = regexp.MustCompile(`^[a-z0-9.]+@[a-z0-9.-]+\.[a-z]+$`)
	e164RE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	countryRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

func TestGoodOrdersShape(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainOrders, Seed: 1})
	total := 0
	const n = 2000
	itemCounts := map[int]int{}
	for range n {
		rec := g.Next()
		if rec.Class != Good || rec.Kind != "good" || rec.Outcome != OutcomePassed || rec.Stream != "orders-raw" {
			t.Fatalf("unexpected record class %v kind %s", rec.Class, rec.Kind)
		}
		total += len(rec.Data)
		if len(rec.Data) < 700 || len(rec.Data) > 1500 {
			t.Errorf("order event of %d bytes, want about 1 KB", len(rec.Data))
		}
		m, err := jsonx.Decode(rec.Data, jsonx.Limits{})
		if err != nil {
			t.Fatalf("good order does not decode: %v\n%s", err, rec.Data)
		}
		for _, k := range []string{"event_id", "order_id"} {
			if !uuidRE.MatchString(m[k].(string)) {
				t.Errorf("%s %q is not a v4 UUID", k, m[k])
			}
		}
		if !custIDRE.MatchString(m["customer_id"].(string)) || m["customer_id"] != rec.PartitionKey {
			t.Errorf("customer_id %q / partition key %q", m["customer_id"], rec.PartitionKey)
		}
		if !emailRE.MatchString(m["customer_email"].(string)) || !countryRE.MatchString(m["country"].(string)) {
			t.Errorf("email %q country %q", m["customer_email"], m["country"])
		}
		at, err := time.Parse(time.RFC3339Nano, m["occurred_at"].(string))
		if err != nil || at.After(testNow) || testNow.Sub(at) > 10*time.Minute {
			t.Errorf("occurred_at %v not within the 10 minutes before now (%v)", m["occurred_at"], err)
		}
		items := m["items"].([]any)
		itemCounts[len(items)]++
		var cents int64
		skus := map[string]bool{}
		for _, it := range items {
			o := it.(map[string]any)
			qty := o["qty"].(int)
			price := o["price"]
			var p float64
			switch x := price.(type) {
			case float64:
				p = x
			case int:
				p = float64(x)
			}
			if qty <= 0 || p <= 0 || skus[o["sku"].(string)] {
				t.Errorf("bad item %v", o)
			}
			skus[o["sku"].(string)] = true
			cents += int64(qty) * int64(math.Round(p*100))
		}
		var got float64
		switch x := m["total"].(type) {
		case float64:
			got = x
		case int:
			got = float64(x)
		}
		if math.Round(got*100) != float64(cents) {
			t.Errorf("total %v != sum(qty*price) %v", got, float64(cents)/100)
		}
		if id, ok := m["trace_id"].(int); !ok || id <= 1<<53 {
			t.Errorf("trace_id %v must be an int beyond 2^53", m["trace_id"])
		}
		pay := m["payment"].(map[string]any)
		if (pay["method"] == "card") != (pay["card_number"] != nil) {
			t.Errorf("card_number must be present exactly for card payments: %v", pay)
		}
	}
	if avg := total / n; avg < 900 || avg > 1150 {
		t.Errorf("average order event is %d bytes, want ~1 KB", avg)
	}
	for c := 1; c <= 5; c++ {
		if itemCounts[c] == 0 {
			t.Errorf("no order with %d items in %d", c, n)
		}
	}
}

func TestGoodCustomersShape(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainCustomers, Seed: 2})
	for range 1000 {
		rec := g.Next()
		m, err := jsonx.Decode(rec.Data, jsonx.Limits{})
		if err != nil {
			t.Fatalf("good customer does not decode: %v\n%s", err, rec.Data)
		}
		if !custIDRE.MatchString(m["customer_id"].(string)) || !emailRE.MatchString(m["email"].(string)) {
			t.Errorf("customer_id %q email %q", m["customer_id"], m["email"])
		}
		if p, ok := m["phone"]; ok && !e164RE.MatchString(p.(string)) {
			t.Errorf("phone %q is not E.164", p)
		}
		b, err := time.Parse("2006-01-02", m["birth_date"].(string))
		if err != nil || !b.Before(testNow) {
			t.Errorf("birth_date %v", m["birth_date"])
		}
		if tags, ok := m["tags"].([]any); ok {
			seen := map[any]bool{}
			for _, tg := range tags {
				if seen[tg] {
					t.Errorf("repeated tag in %v", tags)
				}
				seen[tg] = true
			}
		}
		if lp, ok := m["loyalty_points"].(int); !ok || lp < 0 {
			t.Errorf("loyalty_points %v", m["loyalty_points"])
		}
	}
}

// TestMixProducesEveryKind draws records the way `meshgate gen` does and checks every bad and
// hostile kind shows up, at roughly the requested fractions.
func TestMixProducesEveryKind(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainMixed, Seed: 3, BadFraction: 0.3, HostileFraction: 0.1})
	const n = 8000
	seen := map[string]int{}
	classes := map[Class]int{}
	domains := map[string]int{}
	for range n {
		rec := g.Next()
		seen[rec.Domain+"/"+rec.Kind]++
		classes[rec.Class]++
		domains[rec.Domain]++
		if bytes.IndexByte(rec.Data, '\n') >= 0 {
			t.Fatalf("%s/%s record contains a raw newline", rec.Domain, rec.Kind)
		}
		switch rec.Class {
		case Good:
			if rec.Outcome != OutcomePassed || rec.Rules != nil || rec.Decode != "" || rec.Defect != "" {
				t.Errorf("good record with expectations %+v", rec)
			}
		case Bad:
			if len(rec.Rules) == 0 || rec.Decode != "" || rec.Defect == "" || !slices.IsSorted(rec.Rules) {
				t.Errorf("bad record %s without rules or defect", rec.Kind)
			}
		case Hostile:
			if rec.Decode == "" || rec.Outcome != OutcomeQuarantined {
				t.Errorf("hostile record %s without decode reason", rec.Kind)
			}
		}
	}
	for _, k := range Kinds() {
		if k.Domain == DomainPayments {
			continue // not part of the mix; see TestPaymentsProduceEveryKind
		}
		if seen[k.Domain+"/"+k.Name] == 0 {
			t.Errorf("kind %s/%s never produced in %d records", k.Domain, k.Name, n)
		}
	}
	near := func(what string, got int, want float64) {
		if f := float64(got) / n; math.Abs(f-want) > 0.03 {
			t.Errorf("%s fraction %.3f, want about %.2f", what, f, want)
		}
	}
	near("bad", classes[Bad], 0.3)
	near("hostile", classes[Hostile], 0.1)
	near("customers", domains[DomainCustomers], 0.3)
}

func TestNoBadOrHostileUnlessAsked(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainMixed, Seed: 4, BadFraction: 0.5})
	for range 2000 {
		if rec := g.Next(); rec.Class == Hostile {
			t.Fatal("hostile record with HostileFraction 0")
		}
	}
	g = mustNew(t, Config{Domain: DomainOrders, Seed: 4})
	for range 2000 {
		if rec := g.Next(); rec.Class != Good {
			t.Fatal("bad record with fractions 0")
		}
	}
}

// TestHostileKindsDecodeAsLabelled: every hostile record fails jsonx.Decode with exactly its
// kind's reason, and every bad record decodes (its defect is in the content).
func TestHostileKindsDecodeAsLabelled(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainOrders, Seed: 5})
	for _, k := range Kinds() {
		n := 50
		if k.Name == "too_large" {
			n = 3
		}
		for range n {
			rec := g.Make(k.Domain, k.Class, k.Name)
			if rec.Kind != k.Name || rec.Domain != k.Domain || rec.Class != k.Class {
				t.Fatalf("Make(%s, %s) made %s/%s", k.Domain, k.Name, rec.Domain, rec.Kind)
			}
			if bytes.IndexByte(rec.Data, '\n') >= 0 {
				t.Fatalf("%s record contains a raw newline", k.Name)
			}
			_, err := jsonx.Decode(rec.Data, jsonx.Limits{})
			if k.Class == Bad {
				if err != nil {
					t.Fatalf("bad record %s/%s (%s) must decode: %v", k.Domain, k.Name, rec.Defect, err)
				}
				continue
			}
			var de *jsonx.DecodeError
			if !errors.As(err, &de) || de.Reason != k.Decode || rec.Decode != k.Decode {
				t.Fatalf("hostile %s/%s (%s): Decode error %v, want reason %s", k.Domain, k.Name, rec.Defect, err, k.Decode)
			}
			if k.Name == "too_large" && len(rec.Data) <= jsonx.DefaultMaxBytes {
				t.Errorf("too_large record of %d bytes", len(rec.Data))
			}
		}
	}
}

func TestKindsTable(t *testing.T) {
	reasons := map[string]bool{}
	for _, k := range Kinds() {
		if k.Description == "" || k.Weight <= 0 {
			t.Errorf("%s/%s lacks a description or weight", k.Domain, k.Name)
		}
		switch k.Class {
		case Bad:
			if len(k.Rules) == 0 || k.Decode != "" {
				t.Errorf("bad kind %s/%s must list rules and no decode reason", k.Domain, k.Name)
			}
		case Hostile:
			reasons[k.Decode] = true
		}
		if got, ok := LookupKind(k.Domain, k.Name); !ok || got.Name != k.Name {
			t.Errorf("LookupKind(%s, %s) failed", k.Domain, k.Name)
		}
	}
	for _, r := range jsonx.Reasons {
		if !reasons[r] {
			t.Errorf("no hostile kind produces decode reason %s", r)
		}
	}
	// Kinds returns copies: changing them does not change the generator.
	ks := Kinds()
	ks[0].Rules[0] = "changed"
	if Kinds()[0].Rules[0] == "changed" {
		t.Error("Kinds exposes the internal table")
	}
}

// TestPaymentsProduceEveryKind draws payments only: every payments kind shows up, no other
// domain does, and the partition key is the customer.
func TestPaymentsProduceEveryKind(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainPayments, Seed: 9, BadFraction: 0.4, HostileFraction: 0.1, Now: testNow})
	const n = 4000
	seen := map[string]int{}
	for range n {
		rec := g.Next()
		if rec.Domain != DomainPayments || rec.Stream != "payments-raw" {
			t.Fatalf("payments generator made a %s record for %s", rec.Domain, rec.Stream)
		}
		if rec.Class != Hostile && !bytes.Contains(rec.Data, []byte(`"customer_id":"`+rec.PartitionKey+`"`)) && rec.Kind != "missing_required" && rec.Kind != "bad_customer_id" && rec.Kind != "wrong_type" {
			t.Errorf("partition key %q is not the customer_id of %s", rec.PartitionKey, rec.Data)
		}
		seen[rec.Kind]++
	}
	for _, k := range Kinds() {
		if k.Domain == DomainPayments && seen[k.Name] == 0 {
			t.Errorf("payments kind %s never produced in %d records", k.Name, n)
		}
	}
	if seen["good"] < n/3 {
		t.Errorf("only %d good payments of %d", seen["good"], n)
	}
}
