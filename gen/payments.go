package gen

import (
	"time"
)

// The payments domain is judged by the ODCS-native example contract
// (examples/contracts/payments/payments.odcs.yaml and its binding) together with the
// platform's envelope policy. Its rule names are the document's: payment.<property>.<check>
// and the names of its custom quality entries.

var paymentStatus = map[string]string{
	"payment_authorized": "authorized", "payment_captured": "captured",
	"payment_refunded": "refunded", "payment_failed": "failed",
}

var failureReasons = []string{"card declined by issuer", "insufficient funds", "3-D Secure authentication failed", "PSP timeout"}

// payment builds a valid payment event: every rule of the payments contract passes, the
// warn-only ones included.
func (g *Generator) payment() *obj {
	p := g.person()
	at := g.recent()
	ev := &obj{}
	ev.set("event_id", g.uuid())
	et := []string{"payment_authorized", "payment_captured", "payment_refunded", "payment_failed"}[g.weighted(35, 40, 10, 15)]
	ev.set("event_type", et)
	ev.set("schema_version", "1")
	ev.set("occurred_at", stamp(at))
	ev.set("payment_id", g.uuid())
	ev.set("order_id", g.uuid())
	ev.set("customer_id", g.customerID())
	amount := money(g.between(99, 250_000))
	ev.set("amount", amount)
	status := paymentStatus[et]
	if status == "refunded" {
		ev.set("refunded_amount", money(g.between(1, int(amount))))
	}
	cur := p.c.currency
	if cur != "EUR" && cur != "USD" && cur != "GBP" {
		cur = "EUR"
	}
	ev.set("currency", cur)
	method := []string{"card", "paypal", "invoice", "sepa"}[g.weighted(60, 20, 10, 10)]
	ev.set("method", method)
	if method == "card" {
		ev.set("card", (&obj{}).set("last4", itoa(g.between(1000, 9999))).
			set("brand", []string{"visa", "mastercard", "amex"}[g.weighted(55, 35, 10)]).
			set("expiry", at.AddDate(0, g.between(1, 60), 0).Format("01/06")))
	}
	ev.set("status", status)
	if status == "failed" {
		ev.set("failure_reason", oneOf(g, failureReasons))
	}
	n := 1 + g.weighted(80, 15, 5)
	attempts := make([]any, 0, n)
	for i := range n {
		result := "declined"
		if i == n-1 && status != "failed" {
			result = "ok"
		}
		a := (&obj{}).set("at", stamp(at.Add(-time.Duration(n-i)*time.Second))).set("result", result)
		if g.chance(0.7) {
			a.set("code", map[string]string{"ok": "00", "declined": "05"}[result])
		}
		attempts = append(attempts, a)
	}
	ev.set("attempts", attempts)
	ev.set("psp_reference", "PSP-"+itoa(g.between(100_000, 999_999)))
	ev.set("risk_score", money(g.between(0, 100)))
	if status == "captured" {
		ev.set("settlement_date", at.AddDate(0, 0, 1).Format("2006-01-02"))
	}
	ev.set("merchant_country", p.c.code)
	return ev
}

// refundCheck is the refund rule a changed amount trips on a refund event.
func refundCheck(ev *obj, rules []string) []string {
	if ev.get("status") == "refunded" {
		rules = append(rules, "payment.refund_within_amount")
	}
	return rules
}

// asCard makes ev a card payment with a card, for defects of the card.
func asCard(g *Generator, ev *obj) *obj {
	if ev.get("card") == nil {
		ev.set("method", "card")
		ev.set("card", (&obj{}).set("last4", itoa(g.between(1000, 9999))).set("brand", "visa").set("expiry", "12/29"))
	}
	return ev.sub("card")
}

var paymentKinds = []Kind{
	{Domain: DomainPayments, Class: Bad, Name: "missing_required", Weight: 8, Outcome: OutcomeQuarantined,
		Description: "a required property is missing",
		Rules:       r("payment.payment_id.required", "payment.event_id.required", "event_id_uuid", "payment.currency.required", "payment.customer_id.required"),
		bad: variants(
			variant{"payment_id missing", r("payment.payment_id.required"), del("payment_id")},
			variant{"event_id missing", r("payment.event_id.required", "event_id_uuid"), del("event_id")},
			variant{"currency missing", r("payment.currency.required"), del("currency")},
			variant{"customer_id missing", r("payment.customer_id.required"), del("customer_id")},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "wrong_type", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "a property has the wrong JSON type",
		Rules:       r("payment.risk_score.type", "payment.attempts.type", "payment.psp_reference.type", "payment.customer_id.type"),
		bad: variants(
			variant{"risk_score is a word", r("payment.risk_score.type"), set("risk_score", "low")},
			variant{"attempts is an object", r("payment.attempts.type"), func(_ *Generator, ev *obj) {
				ev.set("attempts", ev.get("attempts").([]any)[0])
			}},
			variant{"psp_reference is a number", r("payment.psp_reference.type"), set("psp_reference", 884213)},
			variant{"customer_id is a number", r("payment.customer_id.type"), set("customer_id", 12345)},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "bad_amount", Weight: 6, Outcome: OutcomeQuarantined,
		Description: "amount is zero or negative, above 100000 or has fractions of a cent",
		Rules:       r("payment.amount.exclusiveMinimum", "payment.amount.maximum", "payment.amount.multipleOf", "payment.refund_within_amount"),
		bad: func(g *Generator, ev *obj) (string, []string) {
			switch g.intn(3) {
			case 0:
				ev.set("amount", -money(g.between(0, 5000)))
				return "amount zero or negative", refundCheck(ev, r("payment.amount.exclusiveMinimum"))
			case 1:
				ev.set("amount", money(g.between(10_000_001, 50_000_000)))
				return "amount above 100000", r("payment.amount.maximum")
			}
			ev.set("amount", float64(ev.get("amount").(money))/100+0.005)
			return "amount with fractions of a cent", r("payment.amount.multipleOf")
		}},
	{Domain: DomainPayments, Class: Bad, Name: "malformed_uuid", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "event_id or payment_id is not a UUID", Rules: r("payment.event_id.format", "event_id_uuid", "payment.payment_id.format"),
		bad: variants(
			variant{"event_id is not a UUID", r("payment.event_id.format", "event_id_uuid"), func(g *Generator, ev *obj) {
				ev.set("event_id", oneOf(g, []string{"evt-000123", g.uuid()[:35], "not-a-uuid"}))
			}},
			variant{"payment_id is not a UUID", r("payment.payment_id.format"), func(g *Generator, ev *obj) {
				ev.set("payment_id", oneOf(g, []string{"PAY-2026-000123", g.uuid()[:30]}))
			}},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "malformed_timestamp", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "occurred_at is not an ISO-8601 timestamp", Rules: r("occurred_at_iso8601", "payment.occurred_at.type"),
		bad: one("occurred_at is not an ISO-8601 timestamp", r("occurred_at_iso8601", "payment.occurred_at.type"), func(g *Generator, ev *obj) {
			ev.set("occurred_at", oneOf(g, []string{"14/03/2026 09:26", "yesterday", "2026-13-01T00:00:00Z", "2026-03-14T25:61:00Z"}))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "stale", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 7 days old", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 7 days old", r("occurred_at_fresh"), staleTime)},
	{Domain: DomainPayments, Class: Bad, Name: "future", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "occurred_at is more than 5 minutes in the future", Rules: r("occurred_at_fresh"),
		bad: one("occurred_at more than 5 minutes ahead", r("occurred_at_fresh"), futureTime)},
	{Domain: DomainPayments, Class: Bad, Name: "unknown_event_type", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "event_type is not a payment event type", Rules: r("payment.event_type.invalidValues"),
		bad: one("unknown event_type", r("payment.event_type.invalidValues"), func(g *Generator, ev *obj) {
			ev.set("event_type", oneOf(g, []string{"payment_disputed", "PaymentCaptured", "order_placed"}))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "unknown_currency", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "currency is not EUR, USD or GBP", Rules: r("payment.currency.invalidValues"),
		bad: one("unknown currency", r("payment.currency.invalidValues"), func(g *Generator, ev *obj) {
			ev.set("currency", oneOf(g, []string{"JPY", "CHF", "eur", "XXX"}))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "unknown_method", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "method is not card, paypal, invoice or sepa", Rules: r("payment.method.invalidValues"),
		bad: one("unknown method", r("payment.method.invalidValues"), func(g *Generator, ev *obj) {
			ev.set("method", oneOf(g, []string{"bitcoin", "cash", "Card"}))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "bad_customer_id", Weight: 4, Outcome: OutcomeQuarantined,
		Description: "customer_id does not match ^C[0-9]{7}$", Rules: r("payment.customer_id.pattern"),
		bad: one("customer_id does not match ^C[0-9]{7}$", r("payment.customer_id.pattern"), func(g *Generator, ev *obj) {
			id := ev.get("customer_id").(string)
			ev.set("customer_id", oneOf(g, []string{"C" + id[3:], "c" + id[1:], "CUST-" + id[1:], id + "9"}))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "bad_card", Weight: 5, Outcome: OutcomeQuarantined,
		Description: "a card payment without its card, or with a malformed last4 or expiry",
		Rules:       r("payment.card_payment_has_card", "payment.card.last4.pattern", "payment.card.expiry.pattern", "payment.card.brand.invalidValues"),
		bad: variants(
			variant{"card payment without card", r("payment.card_payment_has_card"), func(_ *Generator, ev *obj) {
				ev.set("method", "card")
				ev.del("card")
			}},
			variant{"last4 is not four digits", r("payment.card.last4.pattern"), func(g *Generator, ev *obj) {
				asCard(g, ev).set("last4", oneOf(g, []string{"11", "41111", "xxxx"}))
			}},
			variant{"expiry month out of range", r("payment.card.expiry.pattern"), func(g *Generator, ev *obj) {
				asCard(g, ev).set("expiry", oneOf(g, []string{"13/27", "00/28", "2027-12"}))
			}},
			variant{"unknown card brand", r("payment.card.brand.invalidValues"), func(g *Generator, ev *obj) {
				asCard(g, ev).set("brand", oneOf(g, []string{"discover", "VISA"}))
			}},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "refund_exceeds_amount", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "a refund larger than the payment", Rules: r("payment.refund_within_amount"),
		bad: one("refunded_amount above amount", r("payment.refund_within_amount"), func(g *Generator, ev *obj) {
			ev.set("event_type", "payment_refunded")
			ev.set("status", "refunded")
			ev.del("failure_reason")
			ev.set("refunded_amount", ev.get("amount").(money)+money(g.between(1, 10_000)))
		})},
	{Domain: DomainPayments, Class: Bad, Name: "bad_attempts", Weight: 3, Outcome: OutcomeQuarantined,
		Description: "attempts is empty or an attempt has an unknown result",
		Rules:       r("payment.attempts.minItems", "payment.attempts[].result.invalidValues"),
		bad: variants(
			variant{"no attempts", r("payment.attempts.minItems"), set("attempts", []any{})},
			variant{"an attempt with an unknown result", r("payment.attempts[].result.invalidValues"), func(g *Generator, ev *obj) {
				as := ev.get("attempts").([]any)
				as[g.intn(len(as))].(*obj).set("result", oneOf(g, []string{"maybe", "OK", "timeout"}))
			}},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "risk_score_out_of_range", Weight: 2, Outcome: OutcomeQuarantined,
		Description: "risk_score outside [0, 1]", Rules: r("payment.risk_score.maximum", "payment.risk_score.minimum"),
		bad: variants(
			variant{"risk_score above 1", r("payment.risk_score.maximum"), func(g *Generator, ev *obj) {
				ev.set("risk_score", money(g.between(101, 1000)))
			}},
			variant{"negative risk_score", r("payment.risk_score.minimum"), func(g *Generator, ev *obj) {
				ev.set("risk_score", -money(g.between(1, 100)))
			}},
		)},
	{Domain: DomainPayments, Class: Bad, Name: "failed_without_reason", Weight: 3, Outcome: OutcomeWarned,
		Description: "a failed payment that does not say why (warn only)", Rules: r("payment.failure_has_reason"),
		bad: one("failed payment without failure_reason", r("payment.failure_has_reason"), func(_ *Generator, ev *obj) {
			ev.set("event_type", "payment_failed")
			ev.set("status", "failed")
			ev.del("failure_reason")
			ev.del("refunded_amount")
			ev.del("settlement_date")
		})},
	{Domain: DomainPayments, Class: Bad, Name: "missing_psp_reference", Weight: 3, Outcome: OutcomeWarned,
		Description: "psp_reference missing (warn per event; the 2% threshold is an alert)", Rules: r("payment.psp_reference.nullValues"),
		bad: one("psp_reference missing", r("payment.psp_reference.nullValues"), del("psp_reference"))},
	{Domain: DomainPayments, Class: Bad, Name: "lowercase_merchant_country", Weight: 2, Outcome: OutcomeWarned,
		Description: "merchant_country in lower case (warn only)", Rules: r("payment.merchant_country.invalidValues"),
		bad: one("lower-case merchant_country", r("payment.merchant_country.invalidValues"), func(_ *Generator, ev *obj) {
			c := ev.get("merchant_country").(string)
			ev.set("merchant_country", string([]byte{c[0] | 0x20, c[1] | 0x20}))
		})},
}
