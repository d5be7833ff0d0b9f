package benchmarks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meshgate/meshgate/jsonx"
	"github.com/meshgate/meshgate/rules"
)

// Ceiling is the example orders contract and envelope policy written by hand in Go: no rule
// engine, no expressions, the rules as if-statements over the event decoded by jsonx, and the
// enrichment as a jsonx patch — the same decoder and encoder meshgate uses, so the difference
// to meshgate is what the contract engine costs. It only knows the orders contract as the
// examples spell it (NewCeiling refuses any other) and must agree with meshgate verdict for
// verdict and byte for byte (TestCeilingAgrees). Benchmark-only code.
//
// A Ceiling is not safe for concurrent use (it reuses a patch and buffers).
type Ceiling struct {
	regions map[string]any
	salt    string
	domain  string
	version string
	sev     map[string]rules.Severity
	patch   jsonx.Patch
	buf     []byte
	metaSec int64
	meta    []byte
	failed  []string
}

// ceilingRules are the rules the ceiling implements, in meshgate's evaluation order.
var ceilingRules = []string{
	"event_id_uuid", "event_type_present", "occurred_at_iso8601", "occurred_at_fresh",
	"order_id.required", "order_id.type", "order_id.format", "currency.type", "currency.enum",
	"total.type", "total.minimum", "items.type", "items.minItems",
	"event_type_known", "customer_id_format", "customer_email_valid", "country_known", "channel_known",
	"items_valid", "items_sku_unique", "total_matches_items", "payment_method_known",
	"card_number_present", "carrier_known", "postcode_plausible",
}

// NewCeiling checks that c is the example orders contract the ceiling implements (same rules
// in the same order, same enrichment steps) and loads its lookup table.
func NewCeiling(c *rules.Contract, salt string) (*Ceiling, error) {
	if got, want := strings.Join(c.RuleNames(), ","), strings.Join(ceilingRules, ","); got != want {
		return nil, fmt.Errorf("ceiling implements the rules %s; contract %s %s has %s", want, c.Domain, c.Version, got)
	}
	var steps []string
	for _, st := range c.Spec.Enrich {
		steps = append(steps, st.Op+" "+st.Path.Value+" "+st.Value.Src+st.Norm.Value)
	}
	const wantSteps = `set region lookup("regions", country)|hash customer_email |redact payment.card_number |normalize notes trim|metadata _meta `
	if got := strings.Join(steps, "|"); got != wantSteps {
		return nil, fmt.Errorf("ceiling implements the enrichment %q; contract has %q", wantSteps, got)
	}
	if len(c.Spec.Lookups) != 1 || c.Spec.Lookups[0].Name.Value != "regions" {
		return nil, fmt.Errorf("ceiling expects one lookup table, regions")
	}
	regions, err := naiveTable(c.File, c.Spec.Lookups[0])
	if err != nil {
		return nil, err
	}
	cl := &Ceiling{regions: regions, salt: salt, domain: c.Domain, version: c.Version, sev: map[string]rules.Severity{}}
	for _, r := range c.Rules() {
		cl.sev[r.Name] = r.Severity
	}
	return cl, nil
}

// Enrichment paths, allocated once.
var (
	pathRegion = []string{"region"}
	pathEmail  = []string{"customer_email"}
	pathCard   = []string{"payment", "card_number"}
	pathNotes  = []string{"notes"}
	pathMeta   = []string{"_meta"}
)

// Judge judges one record as of now. A record that does not decode is quarantined with the
// rule "decode".
func (cl *Ceiling) Judge(data []byte, now time.Time) Result {
	m, err := jsonx.Decode(data, jsonx.Limits{})
	if err != nil {
		return Result{Outcome: rules.Quarantined, Failed: []string{"decode"}}
	}
	cl.failed = cl.failed[:0]
	fail := func(rule string) { cl.failed = append(cl.failed, rule) }

	// Policy envelope.
	if !cUUID(m["event_id"]) {
		fail("event_id_uuid")
	}
	if s, ok := m["event_type"].(string); !ok || strings.TrimSpace(s) == "" {
		fail("event_type_present")
	}
	ts, tsOK := cTime(m["occurred_at"])
	if !tsOK {
		fail("occurred_at_iso8601")
	} else if age := now.Sub(ts); age > 168*time.Hour || -age > 5*time.Minute {
		fail("occurred_at_fresh")
	}

	// Field declarations.
	orderID := m["order_id"]
	if orderID == nil {
		fail("order_id.required")
	}
	if s, isStr := orderID.(string); orderID != nil && !isStr {
		fail("order_id.type")
	} else if isStr && !cUUID(s) {
		fail("order_id.format")
	}
	currency := m["currency"]
	if _, isStr := currency.(string); currency != nil && !isStr {
		fail("currency.type")
	}
	if currency != nil && currency != "EUR" && currency != "USD" && currency != "GBP" {
		fail("currency.enum")
	}
	total, totalNum := cNum(m["total"])
	if m["total"] != nil && !totalNum {
		fail("total.type")
	} else if totalNum && total < 0 {
		fail("total.minimum")
	}
	items, itemsArr := m["items"].([]any)
	if m["items"] != nil && !itemsArr {
		fail("items.type")
	} else if itemsArr && len(items) < 1 {
		fail("items.minItems")
	}

	// The contract's rules.
	switch m["event_type"] {
	case "order_placed", "order_paid", "order_shipped", "order_cancelled":
	default:
		fail("event_type_known")
	}
	if s, ok := m["customer_id"].(string); !ok || !cCustomerID(s) {
		fail("customer_id_format")
	}
	if !cEmail(m["customer_email"]) {
		fail("customer_email_valid")
	}
	region := cl.lookup(m["country"])
	if region == nil {
		fail("country_known")
	}
	switch m["channel"] {
	case "web", "app", "store":
	default:
		fail("channel_known")
	}
	if itemsArr {
		if !cItemsValid(items) {
			fail("items_valid")
		}
		if !cSkusUnique(items) {
			fail("items_sku_unique")
		}
		if guard, ok := cPricesNumeric(items); !ok || guard && !cMoneyEq(m["total"], cSum(items), 0.01) {
			fail("total_matches_items")
		}
	}
	payment, paymentOK := cMember(m["payment"], "method")
	switch {
	case !paymentOK:
		fail("payment_method_known")
	case payment != "card" && payment != "paypal" && payment != "invoice":
		fail("payment_method_known")
	}
	if !paymentOK {
		fail("card_number_present") // the guard itself fails to evaluate
	} else if payment == "card" {
		card, ok := cMember(m["payment"], "card_number")
		if s, isStr := card.(string); !ok || !isStr || !cDigits(s, 12, 19) {
			fail("card_number_present")
		}
	}
	if m["event_type"] == "order_shipped" {
		carrier, ok := cMember(m["shipping"], "carrier")
		if !ok || carrier != "dhl" && carrier != "ups" && carrier != "dpd" {
			fail("carrier_known")
		}
	}
	addr, ok := cMember(m["shipping"], "address")
	var postcode any
	if ok {
		postcode, ok = cMember(addr, "postcode")
	}
	if n, isLen := cLen(postcode); !ok || !isLen || n < 3 || n > 10 {
		fail("postcode_plausible")
	}

	res := Result{Outcome: rules.Passed}
	if len(cl.failed) > 0 {
		res.Failed = append([]string(nil), cl.failed...)
		for _, r := range res.Failed {
			if cl.sev[r] == rules.SeverityError {
				res.Outcome = rules.Quarantined
				return res
			}
		}
		res.Outcome = rules.Warned
	}

	// Enrichment.
	p := &cl.patch
	p.Reset()
	p.Set(pathRegion, region)
	if v := m["customer_email"]; v != nil {
		b := append(cl.buf[:0], cl.salt...)
		if s, ok := v.(string); ok {
			b = append(b, s...)
		} else {
			b, _ = jsonx.Marshal(b, v)
		}
		sum := sha256.Sum256(b)
		cl.buf = b
		p.Set(pathEmail, hex.EncodeToString(sum[:]))
	}
	if pm, ok := m["payment"].(map[string]any); ok {
		if _, ok := pm["card_number"]; ok {
			p.Set(pathCard, rules.Redacted)
		}
	}
	if s, ok := m["notes"].(string); ok {
		if t := strings.TrimSpace(s); t != s {
			p.Set(pathNotes, t)
		}
	}
	if sec := now.Unix(); cl.meta == nil || sec != cl.metaSec {
		b := append(cl.meta[:0], `{"contract":`...)
		b = jsonx.AppendString(b, cl.domain)
		b = append(b, `,"version":`...)
		b = jsonx.AppendString(b, cl.version)
		b = append(b, `,"processedAt":"`...)
		b = now.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
		cl.meta, cl.metaSec = append(b, '"', '}'), sec
	}
	p.Set(pathMeta, jsonx.Raw(cl.meta))
	out, err := jsonx.AppendApply(make([]byte, 0, len(data)+160), data, p)
	p.Reset()
	if err != nil {
		return Result{Outcome: rules.Quarantined, Failed: append(res.Failed, "enrich")}
	}
	res.Output = out
	return res
}

// lookup is lookup("regions", key): strings are looked up as they are, other values never
// match the table's letter codes.
func (cl *Ceiling) lookup(key any) any {
	s, ok := key.(string)
	if !ok {
		return nil
	}
	return cl.regions[s]
}

// cMember is base?.key: nil for a nil base, not ok (an evaluation error) for a base that is
// neither nil nor an object.
func cMember(base any, key string) (any, bool) {
	switch b := base.(type) {
	case nil:
		return nil, true
	case map[string]any:
		return b[key], true
	}
	return nil, false
}

func cNum(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func cUUID(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func cTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || len(s) < 20 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && strings.ContainsAny(s, "tz") {
		t, err = time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	}
	return t, err == nil
}

func cCustomerID(s string) bool {
	if len(s) != 8 || s[0] != 'C' {
		return false
	}
	return cDigits(s[1:], 7, 7)
}

func cDigits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cEmail(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) > 254 || !utf8.ValidString(s) {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > 64 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		switch c := local[i]; {
		case c <= ' ', c == 0x7f:
			return false
		case strings.IndexByte(`@"(),:;<>[]\`, c) >= 0:
			return false
		}
	}
	labels := 0
	for domain != "" {
		l := domain
		if i := strings.IndexByte(domain, '.'); i >= 0 {
			l, domain = domain[:i], domain[i+1:]
			if domain == "" {
				return false // trailing dot: an empty last label
			}
		} else {
			domain = ""
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80) {
				return false
			}
		}
		labels++
	}
	return labels >= 2
}

// cItemsValid is all(items, is_int(.qty) && .qty > 0 && between(.price, 0.01, 100000)).
func cItemsValid(items []any) bool {
	for _, it := range items {
		o, ok := it.(map[string]any)
		if !ok {
			return false // .qty of a non-object: an evaluation error
		}
		switch q := o["qty"].(type) {
		case int:
			if q <= 0 {
				return false
			}
		case float64:
			if q != math.Trunc(q) || math.IsInf(q, 0) || q <= 0 {
				return false
			}
		default:
			return false
		}
		p, ok := cNum(o["price"])
		if !ok || p < 0.01 || p > 100000 {
			return false
		}
	}
	return true
}

// cSkusUnique is unique(map(items, .sku)).
func cSkusUnique(items []any) bool {
	skus := make([]any, 0, 8)
	for _, it := range items {
		o, ok := it.(map[string]any)
		if !ok {
			return false
		}
		skus = append(skus, o["sku"])
	}
	for i := 1; i < len(skus); i++ {
		for j := 0; j < i; j++ {
			if cEqual(skus[i], skus[j]) {
				return false
			}
		}
	}
	return true
}

func cEqual(a, b any) bool {
	if fa, ok := cNum(a); ok {
		fb, ok := cNum(b)
		return ok && fa == fb
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	ja, _ := jsonx.Marshal(nil, a)
	jb, _ := jsonx.Marshal(nil, b)
	return string(ja) == string(jb)
}

// cPricesNumeric is the guard all(items, is_number(.price) && is_number(.qty)); ok is false
// when the guard fails to evaluate (an element that is not an object).
func cPricesNumeric(items []any) (guard, ok bool) {
	for _, it := range items {
		o, isObj := it.(map[string]any)
		if !isObj {
			return false, false
		}
		if _, ok := cNum(o["price"]); !ok {
			return false, true
		}
		if _, ok := cNum(o["qty"]); !ok {
			return false, true
		}
	}
	return true, true
}

// cSum is sum(items, .price * .qty) for items whose prices and quantities are numbers.
func cSum(items []any) float64 {
	s := 0.0
	for _, it := range items {
		o := it.(map[string]any)
		p, _ := cNum(o["price"])
		q, _ := cNum(o["qty"])
		s += p * q
	}
	return s
}

func cMoneyEq(a any, b, tol float64) bool {
	x, ok := cNum(a)
	if !ok {
		return false
	}
	return math.Abs(x-b) <= tol+1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(b)))
}

func cLen(v any) (int, bool) {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x), true
	case []any:
		return len(x), true
	case map[string]any:
		return len(x), true
	}
	return 0, false
}
