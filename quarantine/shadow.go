package quarantine

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Besides the quarantine objects, the quarantine bucket holds two kinds of diagnostics
// under the same prefix, which readers of quarantine records skip (IsRecordObject):
//
//   - shadow samples: prefix/_shadow/domain/dt=YYYY-MM-DD/worker-time.ndjson.gz (ShadowKey),
//     gzip NDJSON of ShadowSample, written by the worker when a shadow contract judges
//     events differently from the active one;
//   - replay manifests: <quarantine object key>.replay.json (ManifestKey), written by
//     `meshgate replay` next to each object it replayed.

// ShadowDir is the key segment, right under the quarantine prefix, of shadow samples.
const ShadowDir = "_shadow"

// ManifestSuffix ends the key of a replay manifest.
const ManifestSuffix = ".replay.json"

// ShadowKey names one object of shadow samples: prefix/_shadow/domain/dt=YYYY-MM-DD/
// worker-20250115T120000.000000000Z.ndjson.gz, dated by at (UTC), the time the samples were
// flushed. Each worker writes its own objects, so two workers never overwrite each other.
func ShadowKey(prefix, domain, worker string, at time.Time) string {
	parts := []string{}
	if p := strings.Trim(prefix, "/"); p != "" {
		parts = append(parts, p)
	}
	at = at.UTC()
	name := strings.ReplaceAll(worker, "/", "_") + "-" + at.Format("20060102T150405.000000000Z") + ".ndjson.gz"
	parts = append(parts, ShadowDir, domain, "dt="+at.Format("2006-01-02"), name)
	return strings.Join(parts, "/")
}

// ManifestKey is the key of the replay manifest of the quarantine object at key.
func ManifestKey(key string) string { return key + ManifestSuffix }

// IsRecordObject reports whether key names a quarantine object (gzip NDJSON of Record),
// as opposed to a shadow sample object, a replay manifest or anything else stored under
// the prefix.
func IsRecordObject(key string) bool {
	if !strings.HasSuffix(key, ".ndjson.gz") {
		return false
	}
	return !strings.HasPrefix(key, ShadowDir+"/") && !strings.Contains(key, "/"+ShadowDir+"/")
}

// ShadowSample is one event that a domain's shadow contract judged differently from its
// active contract, kept for review. Its Event has the fields either contract hashes or
// redacts masked (rules.MaskPII); failed rules carry no offending values, which may be
// personal data, and the source partition key is left out for the same reason.
type ShadowSample struct {
	Domain string `json:"domain"`
	// Direction is "would_quarantine" (the shadow contract would quarantine an event the
	// active one routes to the curated stream) or "would_pass" (the reverse).
	Direction string `json:"direction"`
	// Rules are the rules that make the difference, as counted in
	// meshgate_shadow_divergences_total.
	Rules  []string      `json:"rules"`
	Active ShadowVerdict `json:"active"`
	Shadow ShadowVerdict `json:"shadow"`

	Stream         string    `json:"stream"`
	Shard          string    `json:"shard"`
	SequenceNumber string    `json:"sequenceNumber"`
	SubSequence    int64     `json:"subSequence,omitempty"`
	ArrivalTime    time.Time `json:"arrivalTime"`
	JudgedAt       time.Time `json:"judgedAt"`
	Worker         string    `json:"worker"`

	// Event is the masked event; absent when it could not be shown (EventOmitted says why:
	// "undecodable", "too_large").
	Event        json.RawMessage `json:"event,omitempty"`
	EventOmitted string          `json:"eventOmitted,omitempty"`
}

// ShadowVerdict is what one of the two contracts decided.
type ShadowVerdict struct {
	Version  string    `json:"version"`
	Hash     string    `json:"hash"`
	Outcome  string    `json:"outcome"` // passed, warned, quarantined
	Failures []Failure `json:"failures,omitempty"`
}

// EncodeShadow writes samples as gzip-compressed NDJSON.
func EncodeShadow(w io.Writer, samples []ShadowSample) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	for i := range samples {
		if err := enc.Encode(&samples[i]); err != nil {
			return fmt.Errorf("encode shadow sample %d: %w", i, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("close gzip: %w", err)
	}
	return nil
}

// DecodeShadow reads an object written by EncodeShadow.
func DecodeShadow(r io.Reader) ([]ShadowSample, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("open gzip: %w", err)
	}
	defer zr.Close()
	var out []ShadowSample
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var s ShadowSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return out, fmt.Errorf("shadow sample line %d: %w", line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read shadow samples: %w", err)
	}
	return out, nil
}
