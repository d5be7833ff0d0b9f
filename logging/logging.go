// Package logging builds meshgate's structured logger: JSON lines from log/slog, one level
// from configuration, and one rule enforced in the handler rather than left to discipline:
//
// The payload of a record (its raw bytes, which may hold personal data) is only ever logged
// at debug level. Log it with Payload, under the key PayloadKey. A handler made by New or
// Guard keeps that attribute in debug records and replaces it with its size and
// "redacted": true in every record above debug, including when it was attached with
// Logger.With or inside a group. Info logs about a quarantined record carry its stream,
// shard, sequence number and failed rules, never its payload; the quarantine object in S3
// is where the bytes are kept.
package logging

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// PayloadKey is the attribute key reserved for record payloads.
const PayloadKey = "payload"

// MaxPayloadBytes bounds how much of a payload a debug record shows.
const MaxPayloadBytes = 16 << 10

// New returns a logger writing JSON lines to w at level (see ParseLevel), with the payload
// rule applied.
func New(w io.Writer, level string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(Guard(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))), nil
}

// ParseLevel reads a level name: debug, info, warn (or warning), error, case-insensitive,
// optionally with an offset as slog writes it ("info+2"). The empty string means info.
func ParseLevel(s string) (slog.Level, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return slog.LevelInfo, nil
	}
	if strings.HasPrefix(strings.ToLower(s), "warning") {
		s = "warn" + s[len("warning"):]
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Payload returns the attribute that logs a record's payload: its size and, at debug
// level only, its text (or base64 when it is not valid UTF-8), cut at MaxPayloadBytes.
func Payload(b []byte) slog.Attr {
	return slog.Any(PayloadKey, payload(b))
}

// payload is a record's raw bytes as a log value.
type payload []byte

func (p payload) LogValue() slog.Value {
	b, truncated := []byte(p), false
	if len(b) > MaxPayloadBytes {
		b, truncated = b[:MaxPayloadBytes], true
	}
	attrs := []slog.Attr{slog.Int("bytes", len(p))}
	if utf8.Valid(b) || (truncated && utf8.Valid(trimPartialRune(b))) {
		attrs = append(attrs, slog.String("text", string(trimPartialRune(b))))
	} else {
		attrs = append(attrs, slog.String("base64", base64.StdEncoding.EncodeToString(b)))
	}
	if truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	return slog.GroupValue(attrs...)
}

// trimPartialRune drops an incomplete UTF-8 sequence a cut left at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

// Guard wraps h with the payload rule: records above debug level have every PayloadKey
// attribute replaced by {"bytes": n, "redacted": true}.
func Guard(h slog.Handler) slog.Handler {
	return &guard{raw: h, redacted: h}
}

// guard keeps two views of the same handler: raw for debug records, redacted for the
// rest. Attributes added with WithAttrs go to both, redacted in the second, because their
// record's level is not known yet.
type guard struct {
	raw, redacted slog.Handler
}

func (g *guard) Enabled(ctx context.Context, l slog.Level) bool { return g.raw.Enabled(ctx, l) }

func (g *guard) Handle(ctx context.Context, r slog.Record) error {
	if r.Level <= slog.LevelDebug {
		return g.raw.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	return g.redacted.Handle(ctx, out)
}

func (g *guard) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redact(a)
	}
	return &guard{raw: g.raw.WithAttrs(attrs), redacted: g.redacted.WithAttrs(red)}
}

func (g *guard) WithGroup(name string) slog.Handler {
	return &guard{raw: g.raw.WithGroup(name), redacted: g.redacted.WithGroup(name)}
}

// redact replaces a payload attribute, at any group depth, by its size.
func redact(a slog.Attr) slog.Attr {
	if a.Key == PayloadKey {
		return slog.Group(PayloadKey, slog.Int("bytes", payloadSize(a.Value)), slog.Bool("redacted", true))
	}
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		return a
	}
	group := v.Group()
	out := make([]slog.Attr, len(group))
	for i, g := range group {
		out[i] = redact(g)
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
}

// payloadSize is the byte size of a payload value, whatever type it was logged as.
func payloadSize(v slog.Value) int {
	if v.Kind() == slog.KindLogValuer {
		if p, ok := v.Any().(payload); ok {
			return len(p)
		}
		v = v.Resolve()
	}
	switch v.Kind() {
	case slog.KindString:
		return len(v.String())
	case slog.KindAny:
		if b, ok := v.Any().([]byte); ok {
			return len(b)
		}
	}
	return -1
}
