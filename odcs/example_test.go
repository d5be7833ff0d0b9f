package odcs_test

import (
	"fmt"

	"github.com/meshgate/meshgate/odcs"
)

// Example maps a small ODCS document to meshgate rules: field facets become rules the
// engine derives (named in Spec.FieldRulePrefix + path + facet), quality entries rules of
// their own or notes.
func Example() {
	doc, err := odcs.Decode("orders.odcs.yaml", []byte(`
apiVersion: v3.1.0
kind: DataContract
id: orders
version: 1.0.0
status: active
domain: orders
servers:
  - {server: orders-raw, type: kinesis}
schema:
  - name: order
    properties:
      - name: currency
        logicalType: string
        required: true
        quality:
          - {metric: invalidValues, arguments: {validValues: [EUR, USD]}, mustBe: 0}
    quality:
      - {type: custom, engine: meshgate, name: total_positive, implementation: "total > 0"}
      - {type: sql, query: "SELECT 1", mustBe: 1}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := odcs.Build(doc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := c.Spec
	fmt.Println("domain:", s.Name.Value, "sources:", s.Sources[0].Value)
	f := s.Fields[0]
	fmt.Printf("field %s%s: type %s, required %v\n", s.FieldRulePrefix, f.Name.Value, f.Type.Value, f.Required)
	for _, r := range s.Rules {
		fmt.Printf("rule %s: %s\n", r.Name.Value, r.Check.Src)
	}
	for _, n := range s.Notes {
		fmt.Println("note:", n.Msg)
	}
	// Output:
	// domain: orders sources: orders-raw
	// field order.currency: type string, required true
	// rule order.currency.invalidValues: currency == nil || one_of(currency, "EUR", "USD")
	// rule order.total_positive: total > 0
	// note: quality entry 2 of order (sql) is not enforced on the stream: SQL runs against a table, meshgate judges single events
}
