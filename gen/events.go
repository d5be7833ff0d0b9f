package gen

import (
	"strings"
	"time"
	"unicode/utf8"
)

type person struct {
	first, last string
	c           *country
}

func (g *Generator) person() person {
	weights := make([]int, len(countries))
	for i, c := range countries {
		weights[i] = c.weight
	}
	c := &countries[g.weighted(weights...)]
	return person{first: oneOf(g, c.first), last: oneOf(g, c.last), c: c}
}

func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if a, ok := ascii[r]; ok {
			b.WriteString(a)
		} else if r < utf8.RuneSelf {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (g *Generator) email(p person) string {
	local := fold(p.first) + "." + fold(p.last)
	switch g.intn(4) {
	case 0:
		local = fold(p.first)[:1] + fold(p.last)
	case 1:
		local += string(rune('0'+g.intn(10))) + string(rune('0'+g.intn(10)))
	}
	return local + "@" + oneOf(g, emailDomains)
}

// order builds a valid order event of about 1 KB, members in the order of the plan.
func (g *Generator) order() *obj {
	p := g.person()
	ev := &obj{}
	ev.set("event_id", g.uuid())
	ev.set("event_type", []string{"order_placed", "order_paid", "order_shipped", "order_cancelled"}[g.weighted(40, 30, 20, 10)])
	ev.set("schema_version", "2")
	ev.set("occurred_at", stamp(g.recent()))
	ev.set("order_id", g.uuid())
	ev.set("customer_id", g.customerID())
	ev.set("customer_email", g.email(p))
	ev.set("country", p.c.code)
	ev.set("currency", p.c.currency)
	ev.set("channel", []string{"web", "app", "store"}[g.weighted(55, 35, 10)])

	n := 1 + g.weighted(30, 30, 20, 12, 8)
	picked := map[int]bool{}
	items := make([]any, 0, n)
	for len(items) < n {
		i := g.intn(len(catalog))
		if picked[i] {
			continue
		}
		picked[i] = true
		pr := catalog[i]
		qty := 1 + g.weighted(60, 25, 10, 5)
		items = append(items, (&obj{}).set("sku", pr.sku).set("name", pr.name).set("qty", qty).set("price", money(pr.cents)))
	}
	ev.set("items", items)
	ev.set("total", sumItems(items))

	method := []string{"card", "paypal", "invoice"}[g.weighted(60, 25, 15)]
	pay := (&obj{}).set("method", method)
	if method == "card" {
		pay.set("card_number", oneOf(g, testCards))
	}
	status := map[string]string{"order_placed": "authorized", "order_paid": "captured", "order_shipped": "captured", "order_cancelled": "voided"}
	pay.set("status", status[ev.get("event_type").(string)])
	ev.set("payment", pay)

	c := oneOf(g, p.c.cities)
	addr := (&obj{}).set("street", oneOf(g, c.streets)+" "+itoa(g.between(1, 180))).set("city", c.name).
		set("postcode", oneOf(g, c.postcode)).set("country", p.c.code)
	ev.set("shipping", (&obj{}).set("carrier", []string{"dhl", "ups", "dpd"}[g.weighted(50, 30, 20)]).set("address", addr))
	// Beyond 2^53, so any float64 round trip in the pipeline shows.
	ev.set("trace_id", int64(1<<53+g.r.Uint64()%(1<<62)))

	// Notes fill the event up to a target size drawn around 1 KB.
	target := g.between(900, 1150)
	size := len(appendJSON(nil, ev)) + len(`,"notes":""`)
	var notes []string
	for _, i := range g.perm(len(noteSentences)) {
		if size >= target {
			break
		}
		notes = append(notes, noteSentences[i])
		size += len(noteSentences[i]) + 1
	}
	ev.set("notes", strings.Join(notes, " "))
	return ev
}

// sumItems is sum(qty*price) over items with integer qty, exact in cents.
func sumItems(items []any) money {
	var total money
	for _, it := range items {
		o := it.(*obj)
		if q, ok := o.get("qty").(int); ok {
			if p, ok := o.get("price").(money); ok {
				total += money(q) * p
			}
		}
	}
	return total
}

// customer builds a valid customer event.
func (g *Generator) customer() *obj {
	p := g.person()
	ev := &obj{}
	ev.set("event_id", g.uuid())
	ev.set("event_type", []string{"customer_created", "customer_updated"}[g.weighted(30, 70)])
	ev.set("schema_version", "1")
	ev.set("occurred_at", stamp(g.recent()))
	ev.set("customer_id", g.customerID())
	ev.set("email", g.email(p))
	ev.set("name", p.first+" "+p.last)
	born := time.Date(g.between(1940, 2006), time.Month(g.between(1, 12)), g.between(1, 28), 0, 0, 0, 0, time.UTC)
	ev.set("birth_date", born.Format("2006-01-02"))
	ev.set("country", p.c.code)
	if g.chance(0.8) {
		ev.set("phone", "+"+p.c.phone+itoa(g.between(100_000_000, 999_999_999)))
	}
	ev.set("marketing_opt_in", g.chance(0.4))
	if g.chance(0.7) {
		var tags []any
		for _, i := range g.perm(len(customerTags))[:g.intn(3)] {
			tags = append(tags, customerTags[i])
		}
		if tags == nil {
			tags = []any{}
		}
		ev.set("tags", tags)
	}
	ev.set("loyalty_points", g.intn(5000))
	return ev
}

func itoa(i int) string {
	b := appendJSON(nil, i)
	return string(b)
}

// perm is a random permutation of [0,n) (Fisher-Yates on intn).
func (g *Generator) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := g.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
