package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestWriteRecordsAndManifest(t *testing.T) {
	g := mustNew(t, Config{Domain: DomainMixed, Seed: 9, BadFraction: 0.2, HostileFraction: 0.05})
	var out, man bytes.Buffer
	st, err := Write(context.Background(), g, 3000, &out, &man)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 3000 || st.Good+st.Bad+st.Hostile != 3000 || st.Bytes != int64(out.Len()) {
		t.Errorf("stats %+v for %d bytes", st, out.Len())
	}
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	if len(lines) != 3000 {
		t.Fatalf("%d lines, want 3000", len(lines))
	}
	sc := bufio.NewScanner(&man)
	n := 0
	for sc.Scan() {
		var e ManifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		n++
		if e.Line != n || e.Bytes != len(lines[n-1]) {
			t.Fatalf("manifest line %d says line %d of %d bytes; the record has %d", n, e.Line, e.Bytes, len(lines[n-1]))
		}
		if e.Class == "hostile" && e.Decode == "" || e.Class == "bad" && len(e.Rules) == 0 {
			t.Errorf("manifest entry lacks its expectation: %+v", e)
		}
	}
	if n != 3000 {
		t.Errorf("manifest has %d lines", n)
	}

	// Same seed, no manifest: the same records.
	var again bytes.Buffer
	if _, err := Write(context.Background(), mustNew(t, Config{Domain: DomainMixed, Seed: 9, BadFraction: 0.2, HostileFraction: 0.05}), 3000, &again, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), out.Bytes()) {
		t.Error("writing without a manifest changed the records")
	}
}

func TestWriteStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	st, err := Write(ctx, mustNew(t, Config{Domain: DomainOrders, Seed: 1}), 1_000_000, &out, nil)
	if !errors.Is(err, context.Canceled) || st.Records >= 1024 {
		t.Errorf("Write after cancel: %v after %d records", err, st.Records)
	}
}
