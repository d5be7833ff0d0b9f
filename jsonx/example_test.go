package jsonx_test

import (
	"errors"
	"fmt"

	"github.com/meshgate/meshgate/jsonx"
)

func ExampleDecode() {
	m, err := jsonx.Decode([]byte(`{"order_id":"A-1","qty":2,"price":19.99,"trace_id":9007199254740993}`), jsonx.DefaultLimits)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%T %v\n", m["qty"], m["qty"])
	fmt.Printf("%T %v\n", m["price"], m["price"])
	fmt.Printf("%T %v\n", m["trace_id"], m["trace_id"])

	_, err = jsonx.Decode([]byte(`{"a":1,"a":2}`), jsonx.Limits{})
	var de *jsonx.DecodeError
	if errors.As(err, &de) {
		fmt.Println(de.Reason, "|", err)
	}
	// Output:
	// int 2
	// float64 19.99
	// int 9007199254740993
	// duplicate_key | duplicate_key: key "a" repeated at byte 7
}

func ExampleApply() {
	in := []byte(`{"id": 9007199254740993, "amount": 0.10, "payment": {"card": "4111111111111111", "method": "card"}, "cust_ref": "C1"}`)
	var p jsonx.Patch
	p.Set([]string{"payment", "card"}, "[REDACTED]")
	p.Rename([]string{"cust_ref"}, []string{"customer_ref"})
	p.Set([]string{"_meta", "version"}, "2.1.0")
	out, err := jsonx.Apply(in, &p)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output:
	// {"id": 9007199254740993, "amount": 0.10, "payment": {"card": "[REDACTED]", "method": "card"},"customer_ref":"C1","_meta":{"version":"2.1.0"}}
}
