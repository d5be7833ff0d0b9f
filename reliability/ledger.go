// Package reliability is meshgate's fault-injection suite: it proves that every record put
// on a raw stream ends up on the curated stream or in quarantine — never in both, never
// missing — while the worker is killed, stopped, starved of its sinks, resharded or fed
// hostile input.
//
// The pieces, usable on their own:
//
//   - Ledger and Producer: a test producer that puts records on a raw stream and writes
//     down every record Kinesis acknowledged (shard, sequence number, payload hash, event
//     id, expected verdict).
//   - Audit: reads what the worker wrote (Read, on the audit package's readers) and accounts for each
//     ledger entry: curated, quarantined, both, missing; copies beyond the first are
//     duplicates, counted per source shard. CheckOrder checks per-partition-key order.
//   - Proxy (faultproxy.go): an HTTP proxy in front of an emulator that injects partial
//     PutRecords failures, 5xx and throttling errors, latency and outages, switchable at
//     run time.
//   - Table: the one-page report `make reliability` prints.
//
// The scenarios (scenarios_test.go) run the real `meshgate run` binary against the local
// emulators (internal/testenv) and end with an audit.
package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"sync"

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/producer"
)

// Entry is one source record that Kinesis acknowledged to the producer.
type Entry struct {
	// Index is the order in which Kinesis acknowledged the record (0, 1, 2, ...). For
	// records of one partition key it is their order on the source stream.
	Index          int
	Stream         string
	Shard          string
	SequenceNumber string
	PartitionKey   string
	// Hash is the hex SHA-256 of the payload; Size its length in bytes.
	Hash string
	Size int
	// EventID is the payload's top-level "event_id" string when the payload is a JSON
	// object carrying one (curated records are matched by it), else "".
	EventID string
	// Kind, Expect and Decode are what the generator says about the record (gen.Record):
	// its kind, the expected outcome (passed, warned, quarantined; "" when unknown) and the
	// expected decode failure reason ("" when it should decode).
	Kind   string
	Expect string
	Decode string
}

// Message is one record for the Producer to put, with what is expected of it.
type Message struct {
	Data         []byte
	PartitionKey string
	Kind         string
	Expect       string // gen.OutcomePassed, gen.OutcomeWarned, gen.OutcomeQuarantined or ""
	Decode       string // expected jsonx decode failure reason, or ""
}

// FromGen turns a generated record into a Message carrying the generator's expectations.
func FromGen(r gen.Record) Message {
	return Message{Data: r.Data, PartitionKey: r.PartitionKey, Kind: r.Kind, Expect: r.Outcome, Decode: r.Decode}
}

// Ledger is the list of every acknowledged source record. It is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	entries []Entry
}

// Add appends e, setting its Index.
func (l *Ledger) Add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Index = len(l.entries)
	l.entries = append(l.entries, e)
}

// Entries returns a copy of the entries, in acknowledgement order.
func (l *Ledger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Len is the number of entries.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// HashPayload is the payload hash used by the ledger (hex SHA-256).
func HashPayload(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// EventID returns the top-level "event_id" string of a JSON object payload, or "". It is
// how curated (enriched) records are linked back to their source record: enrichment keeps
// event_id as it is.
func EventID(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return ""
	}
	var v struct {
		EventID any `json:"event_id"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return ""
	}
	s, _ := v.EventID.(string)
	return s
}

// Producer puts records on one stream (producer.Put: at most 500 entries and 5 MiB per call,
// failed entries retried) and writes every acknowledged one into its Ledger. It is not safe
// for concurrent use; use one Producer per goroutine (they may share a Ledger).
type Producer struct {
	client producer.API
	stream string
	ledger *Ledger
	// Refused counts records never sent because Kinesis cannot carry them (over 1 MiB with
	// the partition key, or an invalid key): they never entered the raw stream, so they are
	// not owed.
	Refused int
}

// NewProducer returns a producer putting on stream and recording into ledger.
func NewProducer(client producer.API, stream string, ledger *Ledger) *Producer {
	return &Producer{client: client, stream: stream, ledger: ledger}
}

// Put sends msgs and records each acknowledged record, in the order Kinesis sequenced them
// (by sequence number within the call: for records of one partition key that is their order
// on the stream). It returns when every message was acknowledged or refused, or with ctx's
// error; entries acknowledged before that are in the ledger.
func (p *Producer) Put(ctx context.Context, msgs []Message) error {
	entries := make([]producer.Entry, len(msgs))
	for i, m := range msgs {
		entries[i] = producer.Entry{Data: m.Data, PartitionKey: m.PartitionKey}
	}
	results, err := producer.Put(ctx, p.client, p.stream, entries)
	type acked struct {
		i   int
		seq *big.Int
	}
	var ok []acked
	for i, r := range results {
		switch {
		case r.Err != nil:
			p.Refused++
		case r.SequenceNumber != "":
			seq, valid := new(big.Int).SetString(r.SequenceNumber, 10)
			if !valid {
				return fmt.Errorf("put records to %s: sequence number %q is not a decimal number", p.stream, r.SequenceNumber)
			}
			ok = append(ok, acked{i, seq})
		}
	}
	sort.SliceStable(ok, func(a, b int) bool { return ok[a].seq.Cmp(ok[b].seq) < 0 })
	for _, a := range ok {
		m, r := msgs[a.i], results[a.i]
		p.ledger.Add(Entry{
			Stream: p.stream, Shard: r.Shard, SequenceNumber: r.SequenceNumber,
			PartitionKey: m.PartitionKey, Hash: HashPayload(m.Data), Size: len(m.Data), EventID: EventID(m.Data),
			Kind: m.Kind, Expect: m.Expect, Decode: m.Decode,
		})
	}
	return err
}
