// Package quarantine defines the quarantine record format shared by the worker's S3 sink,
// `meshgate check --quarantine`, replay and the reliability auditor: gzip-compressed NDJSON,
// one Record per line, in objects whose keys are deterministic from the batch they hold.
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

// Failure is one reason a record was quarantined: a failed rule, a decode failure
// (Rule "decode"), or a routing failure such as an oversized output (Rule "too_large").
type Failure struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Value    string `json:"value,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Record is one quarantined source record with its provenance.
type Record struct {
	// Payload is the source record's exact bytes (base64 in JSON).
	Payload  []byte    `json:"payload"`
	Reason   string    `json:"reason"` // "rules", "decode", "too_large", "no_contract"
	Failures []Failure `json:"failures"`

	Domain          string `json:"domain"`
	Contract        string `json:"contract"`
	ContractVersion string `json:"contractVersion"`

	Stream         string    `json:"stream"`
	Shard          string    `json:"shard"`
	SequenceNumber string    `json:"sequenceNumber"`
	SubSequence    int64     `json:"subSequence,omitempty"`
	PartitionKey   string    `json:"partitionKey"`
	ArrivalTime    time.Time `json:"arrivalTime"`
	Worker         string    `json:"worker"`
	QuarantinedAt  time.Time `json:"quarantinedAt"`
}

// Reasons a record is quarantined.
const (
	ReasonRules      = "rules"
	ReasonDecode     = "decode"
	ReasonTooLarge   = "too_large"
	ReasonNoContract = "no_contract"
)

// ObjectKey names the object holding one batch's quarantined records of one shard:
// prefix/domain/dt=YYYY-MM-DD/stream/shard/firstSeq-lastSeq.ndjson.gz. The date is the
// first record's arrival date (UTC), a property of the data, so re-processing the same
// batch after a crash overwrites the object instead of adding a second one.
func ObjectKey(prefix, domain, stream, shard string, firstArrival time.Time, firstSeq, lastSeq string) string {
	parts := []string{}
	if p := strings.Trim(prefix, "/"); p != "" {
		parts = append(parts, p)
	}
	parts = append(parts, domain, "dt="+firstArrival.UTC().Format("2006-01-02"), stream, shard,
		firstSeq+"-"+lastSeq+".ndjson.gz")
	return strings.Join(parts, "/")
}

// Encode writes recs as gzip-compressed NDJSON.
func Encode(w io.Writer, recs []Record) error {
	zw := gzip.NewWriter(w)
	if err := EncodeNDJSON(zw, recs); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("close gzip: %w", err)
	}
	return nil
}

// EncodeNDJSON writes recs as uncompressed NDJSON, one record per line.
func EncodeNDJSON(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("encode quarantine record %d: %w", i, err)
		}
	}
	return nil
}

// Decode reads a gzip-compressed NDJSON object written by Encode.
func Decode(r io.Reader) ([]Record, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("open gzip: %w", err)
	}
	defer zr.Close()
	return DecodeNDJSON(zr)
}

// DecodeNDJSON reads uncompressed NDJSON quarantine records.
func DecodeNDJSON(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("quarantine line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read quarantine records: %w", err)
	}
	return out, nil
}
