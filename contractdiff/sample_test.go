package contractdiff

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/quarantine"
)

var sampleNow = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

// order is a valid example order with a total of 19.99*qty and the given channel.
func order(i, qty int, channel string) string {
	return fmt.Sprintf(`{"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b%04d","event_type":"order_placed","schema_version":"2",`+
		`"occurred_at":"2025-01-15T11:58:12Z","order_id":"7d3c1e2a-9b8f-4c6d-a1e2-3f4b5c6d7e8f","customer_id":"C0012345",`+
		`"customer_email":"anna@example.com","country":"DE","currency":"EUR","channel":%q,`+
		`"items":[{"sku":"SKU-1","name":"x","qty":%d,"price":19.99}],"total":%.2f,`+
		`"payment":{"method":"paypal","status":"authorized"},"shipping":{"carrier":"dhl","address":{"postcode":"10115"}}}`,
		i, channel, qty, 19.99*float64(qty))
}

func TestRejudge(t *testing.T) {
	old := load(t, examples(t))
	cur := load(t, variant(t, map[string][]string{"orders.yaml": {
		"rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n    message: orders over 100 need review\n",
		`check: one_of(channel, "web", "app", "store")`, `check: one_of(channel, "web", "app", "store", "phone")`,
	}}))
	var sb strings.Builder
	for i := 0; i < 10; i++ {
		qty, channel := 1, "web"
		if i%3 == 0 {
			qty = 10 // 199.90: newly quarantined by total_cap
		}
		if i == 4 || i == 5 {
			channel = "phone" // quarantined by channel_known before, passes now
		}
		sb.WriteString(order(i, qty, channel) + "\n")
	}
	sb.WriteString("\nnot json\n")
	events, err := ReadSample(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 11 || events[10].Line != 12 {
		t.Fatalf("%d events, last at line %d", len(events), events[len(events)-1].Line)
	}
	diffs := Compare(old, cur)
	rep, err := Rejudge(old, cur, events, []string{"orders"}, SampleConfig{Now: sampleNow, Examples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 11 || rep.Judged["orders"] != 11 || rep.Changed != 6 || rep.NewlyQuarantined != 4 || rep.NewlyPassed != 2 {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Rules) != 2 {
		t.Fatalf("rules %+v", rep.Rules)
	}
	cap, ch := rep.Rules[0], rep.Rules[1]
	if cap.Rule != "total_cap" || cap.Direction != NewlyFails || cap.Events != 4 || len(cap.Examples) != 2 ||
		cap.Examples[0].Line != 1 || cap.Examples[0].EventID != "0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b0000" || cap.Examples[0].Message != "orders over 100 need review" || cap.Examples[0].Value != "" {
		t.Errorf("total_cap effect %+v", cap)
	}
	if ch.Rule != "channel_known" || ch.Direction != NoLongerFails || ch.Events != 2 || ch.Examples[0].Line != 5 {
		t.Errorf("channel_known effect %+v", ch)
	}
	ApplyEvidence(diffs, rep)
	got := map[string]string{}
	for _, c := range diffs[0].Changes {
		if c.Audience == Producers {
			got[c.Subject] = c.Impact + " / " + c.Evidence
		}
	}
	if got["total_cap"] != "tightening / 4 of 11 sampled events newly quarantined by it" {
		t.Errorf("total_cap: %s", got["total_cap"])
	}
	// The changed check was unknown; the sample shows it loosening.
	if got["channel_known"] != "loosening / 2 of 11 sampled events no longer quarantined by it" {
		t.Errorf("channel_known: %s", got["channel_known"])
	}

	rep, err = Rejudge(old, cur, events, []string{"orders"}, SampleConfig{Now: sampleNow, ShowValues: true})
	if err != nil || rep.Rules[0].Examples[0].Value == "" {
		t.Errorf("show values: %+v %v", rep.Rules[0].Examples, err)
	}
	t.Logf("example with value: %+v", rep.Rules[0].Examples[0])
}

func TestRejudgeQuarantineRecordsAndDomains(t *testing.T) {
	old := load(t, examples(t))
	cur := load(t, variant(t, map[string][]string{
		"orders.yaml":    {"rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n"},
		"customers.yaml": {"rules:\n", "rules:\n  - name: no_vip\n    check: not (\"vip\" in tags)\n"},
	}))
	changed := []string{"customers", "orders"}
	raw, _ := ReadSample(strings.NewReader(order(1, 10, "web") + "\n"))
	if _, err := Rejudge(old, cur, raw, changed, SampleConfig{Now: sampleNow}); !errors.Is(err, ErrNeedDomain) {
		t.Fatalf("raw events of two changed domains: %v", err)
	}
	rep, err := Rejudge(old, cur, raw, changed, SampleConfig{Now: sampleNow, Domain: "orders"})
	if err != nil || rep.NewlyQuarantined != 1 {
		t.Fatalf("--domain orders: %+v %v", rep, err)
	}

	// Quarantine records (gzip, as the worker writes them) name their domain and stream.
	recs := []quarantine.Record{
		{Payload: []byte(order(2, 10, "web")), Reason: "rules", Domain: "orders", Stream: "orders-raw", ArrivalTime: sampleNow, Failures: []quarantine.Failure{}},
		{Payload: []byte(order(3, 1, "web")), Reason: "rules", Stream: "orders-raw", ArrivalTime: sampleNow, Failures: []quarantine.Failure{}},
		{Payload: []byte(order(4, 1, "web")), Reason: "rules", Domain: "billing", ArrivalTime: sampleNow, Failures: []quarantine.Failure{}},
	}
	var buf bytes.Buffer
	if err := quarantine.Encode(&buf, recs); err != nil {
		t.Fatal(err)
	}
	events, err := ReadSample(&buf)
	if err != nil || len(events) != 3 || events[0].Domain != "orders" || events[1].Stream != "orders-raw" || !events[0].Now.Equal(sampleNow) {
		t.Fatalf("quarantine sample: %+v %v", events, err)
	}
	rep, err = Rejudge(old, cur, events, changed, SampleConfig{})
	if err != nil || rep.Judged["orders"] != 2 || rep.Skipped != 1 || rep.NewlyQuarantined != 1 {
		t.Fatalf("report %+v %v", rep, err)
	}
}
