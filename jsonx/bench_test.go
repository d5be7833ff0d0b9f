package jsonx

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func loadOrder(b *testing.B) []byte {
	data, err := os.ReadFile("testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecode decodes a ~1 KB order event (the worker's hot path).
func BenchmarkDecode(b *testing.B) {
	data := loadOrder(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEncodingJSON is the baseline: encoding/json into a map.
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	data := loadOrder(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendApply applies the example orders enrichment (redact, hash, set, metadata)
// into a reused buffer.
func BenchmarkAppendApply(b *testing.B) {
	data := loadOrder(b)
	var p Patch
	p.Set([]string{"region"}, "EU")
	p.Set([]string{"payment", "card_number"}, "[REDACTED]")
	p.Set([]string{"customer_email"}, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	p.Set([]string{"_meta"}, map[string]any{"contract": "orders", "version": "2.1.0", "processedAt": time.Date(2026, 3, 14, 9, 27, 0, 0, time.UTC)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		var err error
		if buf, err = AppendApply(buf[:0], data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
