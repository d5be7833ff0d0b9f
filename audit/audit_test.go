package audit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/quarantine"
)

func TestSummarize(t *testing.T) {
	curated := map[string][]StreamRecord{"orders-curated": make([]StreamRecord, 5), "customers-curated": make([]StreamRecord, 2)}
	objs := []Object{
		{Key: "a", Records: []quarantine.Record{
			{Domain: "orders", Reason: "rules", Failures: []quarantine.Failure{{Rule: "total_matches_items"}, {Rule: "currency.enum"}}},
			{Domain: "orders", Reason: "decode", Failures: []quarantine.Failure{{Rule: "decode", Value: "bom"}}},
		}},
		{Key: "b", Records: []quarantine.Record{{Domain: "customers", Reason: "rules", Failures: []quarantine.Failure{{Rule: "email.format"}}}}},
	}
	s := Summarize(curated, objs)
	want := Summary{
		Curated:     map[string]int{"orders-curated": 5, "customers-curated": 2},
		Quarantined: map[string]int{"orders": 2, "customers": 1},
		Objects:     2,
		ByReason:    map[string]int{"orders/rules": 1, "orders/decode": 1, "customers/rules": 1},
		ByRule:      map[string]int{"orders/total_matches_items": 1, "orders/currency.enum": 1, "orders/decode:bom": 1, "customers/email.format": 1},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if s.Total() != 10 {
		t.Errorf("total %d", s.Total())
	}
	var buf bytes.Buffer
	s.WriteText(&buf)
	for _, line := range []string{"curated (good events): 7", "quarantined: 3 (in 2 objects)", "orders/decode:bom"} {
		if !strings.Contains(buf.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, buf.String())
		}
	}
}
