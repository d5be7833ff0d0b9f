package rules_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/meshgate/meshgate/rules"
)

// Example loads a contract, judges one good and one bad event with an Evaluator, and prints
// the verdicts: the enriched output of the good one, every failed rule of the bad one.
func Example() {
	dir, _ := os.MkdirTemp("", "contracts")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "payments.yaml"), []byte(`
domain: payments
version: 1.0.0
sources: [payments-raw]
fields:
  amount: {type: number, minimum: 0.01}
rules:
  - name: currency_known
    check: currency in ["EUR", "USD"]
    message: currency must be EUR or USD
  - name: iban_shape
    when: method == "sepa"
    check: match(iban, "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
    severity: warn
    message: SEPA payments should carry an IBAN
enrich:
  - redact: iban
  - metadata: _meta
`), 0o644)

	set, err := rules.Load(dir, rules.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := set.ByStream("payments-raw")
	e := rules.NewEvaluator()
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, event := range []string{
		`{"amount": 12.50, "currency": "EUR", "method": "sepa", "iban": "DE89370400440532013000"}`,
		`{"amount": 0, "currency": "JPY", "method": "sepa", "iban": "n/a"}`,
	} {
		v := e.Judge(c, rules.Input{Data: []byte(event), Now: now})
		fmt.Println(v.Outcome)
		for _, vi := range v.Violations {
			fmt.Printf("  %s (%s): %s, value %s\n", vi.Rule, vi.Severity, vi.Message, vi.Value)
		}
		if v.Output != nil {
			fmt.Printf("  %s\n", v.Output)
		}
	}
	// Output:
	// passed
	//   {"amount": 12.50, "currency": "EUR", "method": "sepa", "iban": "[REDACTED]","_meta":{"contract":"payments","version":"1.0.0","processedAt":"2025-01-15T12:00:00Z"}}
	// quarantined
	//   amount.minimum (error): amount must be at least 0.01, value 0
	//   currency_known (error): currency must be EUR or USD, value "JPY"
	//   iban_shape (warn): SEPA payments should carry an IBAN, value "n/a"
}
