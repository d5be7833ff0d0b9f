package quarantine

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

func TestObjectKey(t *testing.T) {
	at := time.Date(2026, 11, 25, 23, 59, 0, 0, time.FixedZone("x", 3600))
	tests := []struct {
		name, prefix, want string
	}{
		{"with prefix", "quarantine/", "quarantine/orders/dt=2026-11-25/orders-raw/shardId-000000000001/10-20.ndjson.gz"},
		{"nested prefix", "/a/b/", "a/b/orders/dt=2026-11-25/orders-raw/shardId-000000000001/10-20.ndjson.gz"},
		{"no prefix", "", "orders/dt=2026-11-25/orders-raw/shardId-000000000001/10-20.ndjson.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ObjectKey(tt.prefix, "orders", "orders-raw", "shardId-000000000001", at, "10", "20")
			if got != tt.want {
				t.Fatalf("ObjectKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRoundTripKeepsExactPayload(t *testing.T) {
	recs := []Record{{
		Payload:  []byte{0xff, 0xfe, '{', 0x00, '"'},
		Reason:   ReasonDecode,
		Failures: []Failure{{Rule: "decode", Severity: "error", Message: "invalid_utf8: byte 0"}},
		Domain:   "orders", Contract: "orders", ContractVersion: "1.0.0",
		Stream: "orders-raw", Shard: "shardId-0", SequenceNumber: "495", SubSequence: 2,
		ArrivalTime: time.Unix(1700000000, 0).UTC(), Worker: "w1", QuarantinedAt: time.Unix(1700000001, 0).UTC(),
	}}
	var buf bytes.Buffer
	if err := Encode(&buf, recs); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("round trip changed records:\n got %+v\nwant %+v", got, recs)
	}
}
