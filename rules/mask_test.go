package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMaskPIIAsEnrichmentDoes(t *testing.T) {
	set, err := Load(nativeExamples(t), Options{HashSalt: "pepper"})
	if err != nil {
		t.Fatal(err)
	}
	orders := set.ByDomain("orders")
	event := `{"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a60","event_type":"order_placed","schema_version":"2",` +
		`"occurred_at":"2025-01-15T11:58:12Z","order_id":"7d3c1e2a-9b8f-4c6d-a1e2-3f4b5c6d7e8f","customer_id":"C0012345",` +
		`"customer_email":"anna.schmidt@example.com","country":"DE","currency":"EUR","channel":"web",` +
		`"items":[{"sku":"SKU-1","qty":1,"price":0.1}],"total":0.1,` +
		`"payment":{"method":"card","card_number":"4111111111111111","status":"authorized"},"trace_id":9007199254740993,"notes":"  x  "}`
	got, err := MaskPII([]byte(event), orders)
	if err != nil {
		t.Fatal(err)
	}
	v := NewEvaluator().Judge(orders, Input{Data: []byte(event), Now: time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)})
	if v.Outcome == Quarantined {
		t.Fatalf("event does not pass: %+v", v.Violations)
	}
	var masked, enriched map[string]any
	json.Unmarshal(got, &masked)
	json.Unmarshal(v.Output, &enriched)
	if masked["customer_email"] != enriched["customer_email"] || strings.Contains(string(got), "anna") {
		t.Errorf("email masked as %v, enrichment hashes it to %v", masked["customer_email"], enriched["customer_email"])
	}
	want := strings.Replace(strings.Replace(event, `"anna.schmidt@example.com"`, `"`+enriched["customer_email"].(string)+`"`, 1),
		`"4111111111111111"`, `"[REDACTED]"`, 1)
	if string(got) != want {
		t.Errorf("masked:\n%s\nwant (only the protected members changed, every other byte kept):\n%s", got, want)
	}
	// Not an event: no output at all.
	if out, err := MaskPII([]byte(`{"customer_email":"a@b.c",`), orders); err == nil || out != nil {
		t.Errorf("undecodable input: %q, %v", out, err)
	}
}

func TestMaskPIIUnionAndRenames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("active.yaml", `domain: d
version: 1.0.0
enrich:
  - rename: {from: cust, to: customer}
  - hash: customer.mail
  - set: computed
    value: '"x"'
  - hash: computed
  - redact: card
`)
	write("shadow.yaml", `domain: d
version: 1.1.0
stage: shadow
enrich:
  - hash: card
  - hash: phone
  - hash: nothing_here
`)
	set, err := Load(dir, Options{HashSalt: "s"})
	if err != nil {
		t.Fatal(err)
	}
	in := `{"cust":{"mail":"m@x.io","id":7},"card":"4111","phone":null,"computed":"raw","other":1.50}`
	got, err := MaskPII([]byte(in), set.ByDomain("d"), set.Shadow("d"))
	if err != nil {
		t.Fatal(err)
	}
	mail, _ := hashValue("s", "m@x.io")
	want := `{"cust":{"mail":"` + mail + `","id":7},"card":"[REDACTED]","phone":null,"computed":"raw","other":1.50}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
