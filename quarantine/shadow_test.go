package quarantine

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestShadowKeyAndReaders(t *testing.T) {
	at := time.Date(2025, 1, 15, 12, 0, 0, 5, time.FixedZone("x", 3600))
	key := ShadowKey("/quarantine/", "orders", "pod/7", at)
	if want := "quarantine/_shadow/orders/dt=2025-01-15/pod_7-20250115T110000.000000005Z.ndjson.gz"; key != want {
		t.Errorf("ShadowKey = %s, want %s", key, want)
	}
	if got := ShadowKey("", "orders", "w", at); got != "_shadow/orders/dt=2025-01-15/w-20250115T110000.000000005Z.ndjson.gz" {
		t.Errorf("no prefix: %s", got)
	}
	obj := ObjectKey("quarantine", "orders", "orders-raw", "shardId-0", at, "1", "9")
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{obj, true},
		{ObjectKey("", "orders", "s", "sh", at, "1", "2"), true},
		{key, false},
		{ShadowKey("", "orders", "w", at), false},
		{ManifestKey(obj), false},
		{"quarantine/orders/readme.txt", false},
	} {
		if got := IsRecordObject(tc.key); got != tc.want {
			t.Errorf("IsRecordObject(%s) = %v", tc.key, got)
		}
	}
}

func TestShadowRoundTrip(t *testing.T) {
	in := []ShadowSample{{
		Domain: "orders", Direction: "would_quarantine", Rules: []string{"total.maximum"},
		Active: ShadowVerdict{Version: "2.1.0", Hash: "a", Outcome: "passed"},
		Shadow: ShadowVerdict{Version: "2.2.0", Hash: "b", Outcome: "quarantined", Failures: []Failure{{Rule: "total.maximum", Severity: "error", Message: "m"}}},
		Stream: "orders-raw", Shard: "shardId-0", SequenceNumber: "42", ArrivalTime: time.Unix(1, 0).UTC(), JudgedAt: time.Unix(2, 0).UTC(),
		Event: json.RawMessage(`{"total":1e9}`),
	}, {Domain: "orders", Direction: "would_pass", EventOmitted: "too_large"}}
	var buf bytes.Buffer
	if err := EncodeShadow(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := DecodeShadow(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n%+v\n%+v", in, out)
	}
}
