package logging

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{"", slog.LevelInfo, false},
		{"debug", slog.LevelDebug, false},
		{"INFO", slog.LevelInfo, false},
		{" warn ", slog.LevelWarn, false},
		{"warning", slog.LevelWarn, false},
		{"Warning+1", slog.LevelWarn + 1, false},
		{"error", slog.LevelError, false},
		{"info-4", slog.LevelDebug, false},
		{"verbose", 0, true},
		{"7", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLevel(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadLevel(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Fatalf("err = %v", err)
	}
}

// lines decodes the JSON lines a logger wrote.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestJSONAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "stream", "orders-raw")
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["msg"] != "shown" || got[0]["level"] != "WARN" || got[0]["stream"] != "orders-raw" {
		t.Fatalf("%v", got)
	}
}

const secret = `{"customer_email":"anna.schmidt@example.com","card":"4111111111111111"}`

func TestPayloadOnlyAtDebug(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "debug")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("quarantined", "seq", "1", Payload([]byte(secret)))
	l.Info("quarantined", "seq", "1", Payload([]byte(secret)))
	l.Warn("quarantined", slog.String(PayloadKey, secret))                // a plain string under the key
	l.Error("quarantined", slog.Group("record", Payload([]byte(secret)))) // nested in a group
	out := buf.String()
	got := lines(t, &buf)
	if len(got) != 4 {
		t.Fatalf("%d lines", len(got))
	}
	if p := got[0][PayloadKey].(map[string]any); p["text"] != secret || p["bytes"] != float64(len(secret)) {
		t.Errorf("debug payload = %v", p)
	}
	if strings.Count(out, "anna.schmidt") != 1 {
		t.Fatalf("payload leaked above debug:\n%s", out)
	}
	for i, p := range []any{got[1][PayloadKey], got[2][PayloadKey], got[3]["record"].(map[string]any)[PayloadKey]} {
		m, ok := p.(map[string]any)
		if !ok || m["redacted"] != true || m["bytes"] != float64(len(secret)) {
			t.Errorf("line %d: payload = %v", i+2, p)
		}
	}
}

func TestPayloadAttachedWithWith(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "debug")
	if err != nil {
		t.Fatal(err)
	}
	rl := l.With(Payload([]byte(secret))).WithGroup("g").With("k", "v")
	rl.Info("info line")
	rl.Debug("debug line")
	got := lines(t, &buf)
	if m := got[0][PayloadKey].(map[string]any); m["redacted"] != true {
		t.Errorf("info with With: %v", got[0])
	}
	if m := got[1][PayloadKey].(map[string]any); m["text"] != secret {
		t.Errorf("debug with With: %v", got[1])
	}
	if g := got[0]["g"].(map[string]any); g["k"] != "v" {
		t.Errorf("group lost: %v", got[0])
	}
	if strings.Count(buf.String(), "anna.schmidt") != 1 {
		t.Fatalf("leak:\n%s", buf.String())
	}
}

func TestPayloadEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want map[string]any
	}{
		{"utf8", []byte("héllo"), map[string]any{"bytes": float64(6), "text": "héllo"}},
		{"invalid utf8", []byte{0xff, 0xfe, 'a'}, map[string]any{"bytes": float64(3), "base64": base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 'a'})}},
		{"empty", nil, map[string]any{"bytes": float64(0), "text": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, _ := New(&buf, "debug")
			l.Debug("x", Payload(tt.in))
			got := lines(t, &buf)[0][PayloadKey].(map[string]any)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestPayloadTruncatedOnRuneBoundary(t *testing.T) {
	big := strings.Repeat("a", MaxPayloadBytes-1) + "é" + strings.Repeat("b", 100) // é straddles the cut
	var buf bytes.Buffer
	l, _ := New(&buf, "debug")
	l.Debug("x", Payload([]byte(big)))
	got := lines(t, &buf)[0][PayloadKey].(map[string]any)
	if got["truncated"] != true || got["bytes"] != float64(len(big)) {
		t.Fatalf("%v", got)
	}
	if text, _ := got["text"].(string); text != strings.Repeat("a", MaxPayloadBytes-1) {
		t.Fatalf("text has %d bytes", len(text))
	}
}
