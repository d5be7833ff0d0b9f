package gen

import (
	"fmt"
	"slices"
	"time"
)

// Class says what kind of record a Record is.
type Class uint8

const (
	// Good records are valid events the example contracts pass.
	Good Class = iota
	// Bad records are events with exactly one defect the example contracts catch.
	Bad
	// Hostile records are not decodable events (decode failures).
	Hostile
)

func (c Class) String() string {
	switch c {
	case Good:
		return "good"
	case Bad:
		return "bad"
	case Hostile:
		return "hostile"
	}
	return "unknown"
}

// Kind is one way a record can be bad or hostile, for one domain.
type Kind struct {
	Domain string
	Class  Class
	Name   string
	// Weight is the kind's relative frequency among the kinds of its domain and class.
	Weight int
	// Description says what the defect is.
	Description string
	// Outcome is what the example contracts decide: OutcomeQuarantined, or OutcomeWarned for
	// defects only warn-severity rules catch.
	Outcome string
	// Rules lists every rule of the example contracts that a record of this kind can fail;
	// Record.Rules gives the exact set for one record.
	Rules []string
	// Decode is the jsonx decode failure reason of a hostile kind.
	Decode string

	bad     func(g *Generator, ev *obj) (defect string, rules []string)
	hostile func(g *Generator, ev *obj) (data []byte, defect string)
}

// Kinds returns every bad and hostile kind, grouped by domain and class, in a fixed order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	copy(out, kinds)
	for i := range out {
		out[i].Rules = slices.Clone(out[i].Rules)
	}
	return out
}

// LookupKind finds a kind by domain and name.
func LookupKind(domain, name string) (Kind, bool) {
	for _, k := range kinds {
		if k.Domain == domain && k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// variant is one concrete way to produce a kind's defect.
type variant struct {
	defect string
	rules  []string
	apply  func(g *Generator, ev *obj)
}

// variants builds a bad func that picks one variant uniformly.
func variants(vs ...variant) func(*Generator, *obj) (string, []string) {
	return func(g *Generator, ev *obj) (string, []string) {
		v := vs[g.intn(len(vs))]
		v.apply(g, ev)
		r := slices.Clone(v.rules)
		slices.Sort(r)
		return v.defect, r
	}
}

func set(k string, v any) func(*Generator, *obj) {
	return func(_ *Generator, ev *obj) { ev.set(k, v) }
}

func del(k string) func(*Generator, *obj) {
	return func(_ *Generator, ev *obj) { ev.del(k) }
}

func one(defect string, rules []string, apply func(*Generator, *obj)) func(*Generator, *obj) (string, []string) {
	return variants(variant{defect, rules, apply})
}

func r(names ...string) []string { return names }

// Envelope defects shared by both domains (global policy rules).
func staleTime(g *Generator, ev *obj) {
	ev.set("occurred_at", stamp(g.cfg.Now.Add(-time.Duration(8*24+g.intn(50*24))*time.Hour-time.Duration(g.intn(3600))*time.Second)))
}

func futureTime(g *Generator, ev *obj) {
	ev.set("occurred_at", stamp(g.cfg.Now.Add(6*time.Minute+time.Duration(g.intn(48*3600))*time.Second)))
}

var badTimestamps = []string{"14/03/2026 09:26", "yesterday", "2026-13-01T00:00:00Z", "2026-03-14T25:61:00Z", "", "1710408413"}

var envelopeMalformedTime = variants(
	variant{"occurred_at is not an ISO-8601 timestamp", r("occurred_at_iso8601"), func(g *Generator, ev *obj) {
		ev.set("occurred_at", oneOf(g, badTimestamps))
	}},
)

var malformedEventID = variants(
	variant{"event_id is not a UUID", r("event_id_uuid"), func(g *Generator, ev *obj) {
		ev.set("event_id", oneOf(g, []string{"evt-000123", g.uuid()[:35], "{" + g.uuid() + "}", "not-a-uuid", g.uuid() + "0"}))
	}},
)

// itemAt returns a random item of an order.
func itemAt(g *Generator, ev *obj) *obj {
	items := ev.get("items").([]any)
	return items[g.intn(len(items))].(*obj)
}

func retotal(ev *obj) { ev.set("total", sumItems(ev.get("items").([]any))) }

var kinds = []Kind{
	// Orders, bad.
	{Domain: DomainOrders, Class: Bad, Name: "missing_required", Weight: 10, Outcome: OutcomeQuarantined,
		Description: "a required member is missing", Rules: r("order_id.required", "event_id_uuid", "customer_id_format", "payment_method_known"),
		bad: variants(
			variant{"order_id missing", r("order_id.required"), del("order_id")},
			variant{"event_id missing", r("event_id_uuid"), del("event_id")},
			variant{"customer_id missing", r("customer_id_format"), del("customer_id")},
			variant{"payment missing", r("payment_method_known"), del("payment")},
		)},
	{Domain: DomainOrders, Class: Bad, Name: "wrong_type", Weight: 8, Outcome: OutcomeQuarantined,
		Description: "a member has the wrong JSON type", Rules: r("total.type", "total_matches_items", "items_valid", "currency.type", "currency.enum", "items.type"),
		bad: variants(
			variant{"total is a string", r("total.type", "total_matches_items"), func(_ *Generator, ev *obj) {
				ev.set("total", string(appendJSON(nil, ev.get("total"))))
			}},
			variant{"an item's qty is a string", r("items_valid"), func(g *Generator, ev *obj) {
				it := itemAt(g, ev)
				it.set("qty", itoa(it.get("qty").(int)))
			}},
			variant{"currency is a number", r("currency.type", "currency.enum"), set("currency", 978)},
			variant{"items is an object", r("items.type"), func(_ *Generator, ev *obj) {
				ev.set("items", ev.get("items").([]any)[0])
			}},
		)},
	{Domain: DomainOrders, Class: Bad, Name: "malformed_uuid", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "order_id or event_id is not a UUID", Rules: r("order_id.format", "event_id_uuid"),
		bad: variants(
			variant{"order_id is not a UUID", r("order_id.format"), func(g *Generator, ev *obj) {
				ev.set("order_id", oneOf(g, []string{"ORD-2026-000123", g.uuid()[:30], "00000000-0000-0000-0000", "7d3c1e2a9b8f4c6da1e23f4b5c6d7e8f0"}))
			}},
			variant{"event_id is not a UUID", r("event_id_uuid"), func(g *Generator, ev *obj) {
				ev.set("event_id", oneOf(g, []string{"evt-000123", g.uuid()[:35], "not-a-uuid"}))
			}},
		)},
	{Domain: DomainOrders, Class: Bad, Name: "malformed_email", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "customer_email is not an e-mail address", Rules: r("customer_email_valid"),
		bad: one("customer_email is not an e-mail address", r("customer_email_valid"), func(g *Generator, ev *obj) {
			e := ev.get("customer_email").(string)
			at := 0
			for i := range e {
				if e[i] == '@' {
					at = i
				}
			}
			ev.set("customer_email", oneOf(g, []string{e[:at] + "(at)" + e[at+1:], e[:at+1], e[at:], e[:at] + " x" + e[at:], e[:at] + "@@" + e[at+1:], e[:at]}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "malformed_timestamp", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "occurred_at is not an ISO-8601 timestamp", Rules: r("occurred_at_iso8601"), bad: envelopeMalformedTime},
	{Domain: DomainOrders, Class: Bad, Name: "unknown_currency", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "currency is not EUR, USD or GBP", Rules: r("currency.enum"),
		bad: one("unknown currency", r("currency.enum"), func(g *Generator, ev *obj) {
			ev.set("currency", oneOf(g, []string{"JPY", "CHF", "eur", "XXX", "€"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "unknown_country", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "country is not a known ISO 3166 code", Rules: r("country_known"),
		bad: one("unknown country", r("country_known"), func(g *Generator, ev *obj) {
			ev.set("country", oneOf(g, []string{"ZZ", "XX", "Germany", "de", "DEU"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "total_mismatch", Weight: 8, Outcome: OutcomeQuarantined,
		Description: "total is not sum(items.price * items.qty)", Rules: r("total_matches_items"),
		bad: variants(
			variant{"total off by a few cents to euros", r("total_matches_items"), func(g *Generator, ev *obj) {
				delta := money(g.between(2, 5000))
				if g.chance(0.5) && ev.get("total").(money) > delta {
					delta = -delta
				}
				ev.set("total", ev.get("total").(money)+delta)
			}},
			variant{"total ignores qty", r("total_matches_items"), func(g *Generator, ev *obj) {
				items := ev.get("items").([]any)
				it := items[0].(*obj)
				it.set("qty", it.get("qty").(int)+1)
				var t money
				for _, x := range items {
					t += x.(*obj).get("price").(money)
				}
				ev.set("total", t)
			}},
		)},
	{Domain: DomainOrders, Class: Bad, Name: "qty_not_positive", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "an item's qty is zero or negative (total still matches)", Rules: r("items_valid"),
		bad: one("an item's qty is zero or negative", r("items_valid"), func(g *Generator, ev *obj) {
			it := itemAt(g, ev)
			it.set("qty", -g.intn(2))
			retotal(ev)
			if ev.get("total").(money) < 0 {
				it.set("qty", 0)
				retotal(ev)
			}
		})},
	{Domain: DomainOrders, Class: Bad, Name: "empty_items", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "items is empty (total 0)", Rules: r("items.minItems"),
		bad: one("items is empty", r("items.minItems"), func(_ *Generator, ev *obj) {
			ev.set("items", []any{})
			ev.set("total", money(0))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "duplicate_skus", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "two items share a sku (total still matches)", Rules: r("items_sku_unique"),
		bad: one("two items share a sku", r("items_sku_unique"), func(g *Generator, ev *obj) {
			items := ev.get("items").([]any)
			first := items[0].(*obj)
			dup := (&obj{}).set("sku", first.get("sku")).set("name", first.get("name")).set("qty", 1).set("price", first.get("price"))
			ev.set("items", append(items, dup))
			retotal(ev)
		})},
	{Domain: DomainOrders, Class: Bad, Name: "stale", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 7 days old", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 7 days old", r("occurred_at_fresh"), staleTime)},
	{Domain: DomainOrders, Class: Bad, Name: "future", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 5 minutes in the future", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 5 minutes ahead", r("occurred_at_fresh"), futureTime)},
	{Domain: DomainOrders, Class: Bad, Name: "bad_customer_id", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "customer_id does not match ^C[0-9]{7}$", Rules: r("customer_id_format"),
		bad: one("customer_id does not match ^C[0-9]{7}$", r("customer_id_format"), func(g *Generator, ev *obj) {
			id := ev.get("customer_id").(string)
			ev.set("customer_id", oneOf(g, []string{"C" + id[3:], "c" + id[1:], "CUST-" + id[1:], id + "9", id[1:]}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "unknown_event_type", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "event_type is not an order event type", Rules: r("event_type_known"),
		bad: one("unknown event_type", r("event_type_known"), func(g *Generator, ev *obj) {
			ev.set("event_type", oneOf(g, []string{"order_refunded", "OrderPlaced", "order-placed"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "unknown_payment_method", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "payment.method is not card, paypal or invoice", Rules: r("payment_method_known"),
		bad: one("unknown payment.method", r("payment_method_known"), func(g *Generator, ev *obj) {
			p := ev.sub("payment")
			p.del("card_number")
			p.set("method", oneOf(g, []string{"bitcoin", "cash", "Card"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "bad_card_number", Weight: 2, Outcome: OutcomeQuarantined,
		Description: "a card payment without a 12-19 digit card number", Rules: r("card_number_present"),
		bad: one("card payment with a malformed card number", r("card_number_present"), func(g *Generator, ev *obj) {
			p := ev.sub("payment")
			p.set("method", "card")
			p.set("card_number", oneOf(g, []string{"4111-1111-1111-1111", "4111", "xxxx-xxxx-xxxx-1111"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "unknown_carrier", Weight: 2, Outcome: OutcomeQuarantined,
		Description: "a shipped order names an unknown carrier", Rules: r("carrier_known"),
		bad: one("shipped with an unknown carrier", r("carrier_known"), func(g *Generator, ev *obj) {
			ev.set("event_type", "order_shipped")
			ev.sub("payment").set("status", "captured")
			ev.sub("shipping").set("carrier", oneOf(g, []string{"fedex", "DHL", "pigeon"}))
		})},
	{Domain: DomainOrders, Class: Bad, Name: "bad_postcode", Weight: 3, Outcome: OutcomeWarned,
		Description: "shipping postcode is implausibly short or long (warn only)", Rules: r("postcode_plausible"),
		bad: one("implausible postcode", r("postcode_plausible"), func(g *Generator, ev *obj) {
			ev.sub("shipping").sub("address").set("postcode", oneOf(g, []string{"1", "12", "12345678901"}))
		})},

	// Customers, bad.
	{Domain: DomainCustomers, Class: Bad, Name: "missing_required", Weight: 8, Outcome: OutcomeQuarantined,
		Description: "a required member is missing", Rules: r("customer_id.required", "email.required", "event_id_uuid", "name_present"),
		bad: variants(
			variant{"customer_id missing", r("customer_id.required"), del("customer_id")},
			variant{"email missing", r("email.required"), del("email")},
			variant{"event_id missing", r("event_id_uuid"), del("event_id")},
			variant{"name missing", r("name_present"), del("name")},
		)},
	{Domain: DomainCustomers, Class: Bad, Name: "wrong_type", Weight: 8, Outcome: OutcomeQuarantined,
		Description: "a member has the wrong JSON type", Rules: r("loyalty_points.type", "marketing_opt_in.type", "customer_id.type", "tags.type", "birth_date.type"),
		bad: variants(
			variant{"loyalty_points is a string", r("loyalty_points.type"), func(_ *Generator, ev *obj) {
				ev.set("loyalty_points", itoa(ev.get("loyalty_points").(int)))
			}},
			variant{"marketing_opt_in is a string", r("marketing_opt_in.type"), func(g *Generator, ev *obj) {
				ev.set("marketing_opt_in", oneOf(g, []string{"yes", "true", "0"}))
			}},
			variant{"customer_id is a number", r("customer_id.type"), func(_ *Generator, ev *obj) {
				ev.set("customer_id", 12345)
			}},
			variant{"tags is a string", r("tags.type"), set("tags", "vip")},
			variant{"birth_date is not a date", r("birth_date.type"), func(g *Generator, ev *obj) {
				ev.set("birth_date", oneOf(g, []string{"12.04.1990", "1990/04/12", "April 12, 1990"}))
			}},
		)},
	{Domain: DomainCustomers, Class: Bad, Name: "malformed_email", Weight: 7, Outcome: OutcomeQuarantined,
		Description: "email is not an e-mail address", Rules: r("email.format"),
		bad: one("email is not an e-mail address", r("email.format"), func(g *Generator, ev *obj) {
			e := ev.get("email").(string)
			at := 0
			for i := range e {
				if e[i] == '@' {
					at = i
				}
			}
			ev.set("email", oneOf(g, []string{e[:at] + "(at)" + e[at+1:], e[:at+1], e[at:], e[:at] + "@@" + e[at+1:], e[:at]}))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "malformed_uuid", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "event_id is not a UUID", Rules: r("event_id_uuid"), bad: malformedEventID},
	{Domain: DomainCustomers, Class: Bad, Name: "malformed_timestamp", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "occurred_at is not an ISO-8601 timestamp", Rules: r("occurred_at_iso8601"), bad: envelopeMalformedTime},
	{Domain: DomainCustomers, Class: Bad, Name: "unknown_country", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "country is not a known ISO 3166 code", Rules: r("country_known"),
		bad: one("unknown country", r("country_known"), func(g *Generator, ev *obj) {
			ev.set("country", oneOf(g, []string{"ZZ", "XX", "France", "fr"}))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "bad_customer_id", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "customer_id does not match ^C[0-9]{7}$", Rules: r("customer_id.pattern"),
		bad: one("customer_id does not match ^C[0-9]{7}$", r("customer_id.pattern"), func(g *Generator, ev *obj) {
			id := ev.get("customer_id").(string)
			ev.set("customer_id", oneOf(g, []string{"C" + id[3:], "c" + id[1:], "CUST-" + id[1:], id + "9"}))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "birth_date_future", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "birth_date is in the future", Rules: r("birth_date_not_future"),
		bad: one("birth_date in the future", r("birth_date_not_future"), func(g *Generator, ev *obj) {
			ev.set("birth_date", g.cfg.Now.AddDate(0, 0, g.between(2, 3000)).Format("2006-01-02"))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "stale", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 7 days old", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 7 days old", r("occurred_at_fresh"), staleTime)},
	{Domain: DomainCustomers, Class: Bad, Name: "future", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 5 minutes in the future", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 5 minutes ahead", r("occurred_at_fresh"), futureTime)},
	{Domain: DomainCustomers, Class: Bad, Name: "unknown_event_type", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "event_type is not a customer event type", Rules: r("event_type_known"),
		bad: one("unknown event_type", r("event_type_known"), func(g *Generator, ev *obj) {
			ev.set("event_type", oneOf(g, []string{"customer_deleted", "CustomerCreated"}))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "duplicate_tags", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "tags repeats a tag", Rules: r("tags.uniqueItems"),
		bad: one("a tag repeated", r("tags.uniqueItems"), func(g *Generator, ev *obj) {
			t := oneOf(g, customerTags)
			ev.set("tags", []any{t, t})
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "negative_loyalty_points", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "loyalty_points is negative", Rules: r("loyalty_points.minimum"),
		bad: one("negative loyalty_points", r("loyalty_points.minimum"), func(g *Generator, ev *obj) {
			ev.set("loyalty_points", -g.between(1, 500))
		})},
	{Domain: DomainCustomers, Class: Bad, Name: "phone_not_e164", Weight: 4, Outcome: OutcomeWarned,
		Description: "phone is not in E.164 form (warn only)", Rules: r("phone_e164"),
		bad: one("phone not in E.164 form", r("phone_e164"), func(g *Generator, ev *obj) {
			ev.set("phone", oneOf(g, []string{"030 123456", "0049-30-123456", "(555) 123-4567", "+49 30 123456"}))
		})},
}

func init() {
	kinds = append(kinds, paymentKinds...)
	for _, d := range []string{DomainOrders, DomainCustomers, DomainPayments} {
		kinds = append(kinds, hostileKinds(d)...)
	}
	seen := map[string]bool{}
	for i := range kinds {
		k := &kinds[i]
		key := k.Domain + "/" + k.Name
		if seen[key] || k.Weight <= 0 || (k.bad == nil) == (k.hostile == nil) {
			panic(fmt.Sprintf("gen: bad kind table entry %s", key))
		}
		seen[key] = true
		slices.Sort(k.Rules)
	}
}
