package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// ManifestEntry is one line of the manifest `meshgate gen --manifest` writes next to the
// records: what the record on that line is and what the example contracts should decide.
type ManifestEntry struct {
	Line         int      `json:"line"` // 1-based line number in the records file
	Domain       string   `json:"domain"`
	Stream       string   `json:"stream"`
	PartitionKey string   `json:"partitionKey"`
	Class        string   `json:"class"`
	Kind         string   `json:"kind"`
	Defect       string   `json:"defect,omitempty"`
	Outcome      string   `json:"outcome"`
	Rules        []string `json:"rules,omitempty"`
	Decode       string   `json:"decode,omitempty"`
	Bytes        int      `json:"bytes"`
}

// Manifest describes the record as line number line.
func (r Record) Manifest(line int) ManifestEntry {
	return ManifestEntry{Line: line, Domain: r.Domain, Stream: r.Stream, PartitionKey: r.PartitionKey,
		Class: r.Class.String(), Kind: r.Kind, Defect: r.Defect, Outcome: r.Outcome, Rules: r.Rules,
		Decode: r.Decode, Bytes: len(r.Data)}
}

// Stats counts what Write wrote.
type Stats struct {
	Records, Good, Bad, Hostile int
	Bytes                       int64
}

// Write writes n records from g to out as NDJSON (one record per line) and, if manifest is not
// nil, one ManifestEntry per record to manifest. It stops early with ctx's error when ctx is
// cancelled.
func Write(ctx context.Context, g *Generator, n int, out, manifest io.Writer) (Stats, error) {
	var st Stats
	w := bufio.NewWriterSize(out, 256<<10)
	var mw *bufio.Writer
	var enc *json.Encoder
	if manifest != nil {
		mw = bufio.NewWriter(manifest)
		enc = json.NewEncoder(mw)
	}
	for i := 1; i <= n; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		rec := g.Next()
		w.Write(rec.Data)
		if err := w.WriteByte('\n'); err != nil {
			return st, fmt.Errorf("write records: %w", err)
		}
		if enc != nil {
			if err := enc.Encode(rec.Manifest(i)); err != nil {
				return st, fmt.Errorf("write manifest: %w", err)
			}
		}
		st.Records++
		st.Bytes += int64(len(rec.Data)) + 1
		switch rec.Class {
		case Good:
			st.Good++
		case Bad:
			st.Bad++
		case Hostile:
			st.Hostile++
		}
	}
	if err := w.Flush(); err != nil {
		return st, fmt.Errorf("write records: %w", err)
	}
	if mw != nil {
		if err := mw.Flush(); err != nil {
			return st, fmt.Errorf("write manifest: %w", err)
		}
	}
	return st, nil
}
