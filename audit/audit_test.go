package audit

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/meshgate/meshgate/quarantine"
)

func TestSummarize(t *testing.T) {
	recs := func(n int) []StreamRecord { return make([]StreamRecord, n) }
	rule := func(names ...string) []quarantine.Failure {
		var fs []quarantine.Failure
		for _, n := range names {
			fs = append(fs, quarantine.Failure{Rule: n, Severity: "error"})
		}
		return fs
	}
	tests := []struct {
		name    string
		curated map[string][]StreamRecord
		objs    []Object
		want    Summary
		total   int
	}{
		{
			name: "nothing",
			want: Summary{Curated: map[string]int{}, Quarantined: map[string]int{}, ByReason: map[string]int{}, ByRule: map[string]int{}},
		},
		{
			name:    "curated only, an empty stream counted as zero",
			curated: map[string][]StreamRecord{"orders-curated": recs(5), "customers-curated": nil},
			want: Summary{Curated: map[string]int{"orders-curated": 5, "customers-curated": 0},
				Quarantined: map[string]int{}, ByReason: map[string]int{}, ByRule: map[string]int{}},
			total: 5,
		},
		{
			name:    "empty quarantine objects count as objects only",
			curated: map[string][]StreamRecord{"orders-curated": recs(1)},
			objs:    []Object{{Key: "a"}, {Key: "b", Records: []quarantine.Record{}}},
			want: Summary{Curated: map[string]int{"orders-curated": 1}, Objects: 2,
				Quarantined: map[string]int{}, ByReason: map[string]int{}, ByRule: map[string]int{}},
			total: 1,
		},
		{
			name:    "by domain, reason and rule",
			curated: map[string][]StreamRecord{"orders-curated": recs(5), "customers-curated": recs(2)},
			objs: []Object{
				{Key: "q/orders/1", Records: []quarantine.Record{
					// Two failed rules: one record, counted for both rules.
					{Domain: "orders", Reason: quarantine.ReasonRules, Failures: rule("total_matches_items", "currency.enum")},
					{Domain: "orders", Reason: quarantine.ReasonRules, Failures: rule("total_matches_items")},
					{Domain: "orders", Reason: quarantine.ReasonDecode, Failures: []quarantine.Failure{{Rule: "decode", Value: "bom"}}},
					{Domain: "orders", Reason: quarantine.ReasonDecode, Failures: []quarantine.Failure{{Rule: "decode", Value: "bom"}}},
					// A decode failure without a reason value is counted under plain "decode".
					{Domain: "orders", Reason: quarantine.ReasonDecode, Failures: []quarantine.Failure{{Rule: "decode"}}},
				}},
				{Key: "q/orders/2", Records: []quarantine.Record{
					{Domain: "orders", Reason: quarantine.ReasonTooLarge, Failures: rule("too_large")},
				}},
				{Key: "q/customers/1", Records: []quarantine.Record{
					{Domain: "customers", Reason: quarantine.ReasonRules, Failures: rule("email.format")},
					// No failures: counted by reason, in no rule.
					{Domain: "customers", Reason: quarantine.ReasonNoContract},
				}},
			},
			want: Summary{
				Curated:     map[string]int{"orders-curated": 5, "customers-curated": 2},
				Quarantined: map[string]int{"orders": 6, "customers": 2},
				Objects:     3,
				ByReason: map[string]int{"orders/rules": 2, "orders/decode": 3, "orders/too_large": 1,
					"customers/rules": 1, "customers/no_contract": 1},
				ByRule: map[string]int{"orders/total_matches_items": 2, "orders/currency.enum": 1,
					"orders/decode:bom": 2, "orders/decode": 1, "orders/too_large": 1, "customers/email.format": 1},
			},
			total: 15,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.curated, tt.objs)
			if !reflect.DeepEqual(s, tt.want) {
				t.Errorf("got  %+v\nwant %+v", s, tt.want)
			}
			if s.Total() != tt.total {
				t.Errorf("Total() = %d, want %d", s.Total(), tt.total)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	s := Summary{
		Curated:     map[string]int{"orders-curated": 5, "customers-curated": 2},
		Quarantined: map[string]int{"orders": 6, "customers": 1},
		Objects:     3,
		ByReason:    map[string]int{"orders/rules": 2, "orders/decode": 4, "customers/rules": 1},
		ByRule: map[string]int{"orders/total_matches_items": 2, "orders/currency.enum": 1,
			"orders/decode:bom": 4, "customers/email.format": 1},
	}
	// Streams and reasons by name; rules by count, most first, ties by name.
	want := `curated (good events): 7
  customers-curated                  2
  orders-curated                     5
quarantined: 7 (in 3 objects)
  customers/rules                    1
  orders/decode                      4
  orders/rules                       2
quarantined records by failed rule:
  orders/decode:bom                                  4
  orders/total_matches_items                         2
  customers/email.format                             1
  orders/currency.enum                               1
`
	var buf bytes.Buffer
	s.WriteText(&buf)
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	Summarize(nil, nil).WriteText(&buf)
	if want := "curated (good events): 0\nquarantined: 0 (in 0 objects)\nquarantined records by failed rule:\n"; buf.String() != want {
		t.Errorf("empty summary:\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestStreams(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"orders-curated", []string{"orders-curated"}},
		{"orders-curated,customers-curated", []string{"orders-curated", "customers-curated"}},
		{" orders-curated , ,customers-curated,", []string{"orders-curated", "customers-curated"}},
		{",,", nil},
	}
	for _, tt := range tests {
		if got := Streams(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Streams(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
