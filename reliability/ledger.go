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
//   - Audit: reads what the worker wrote (ReadCurated, ReadQuarantine) and accounts for each
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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/meshgate/meshgate/gen"
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

// PutRecordsAPI is the part of the Kinesis client the Producer uses.
type PutRecordsAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Kinesis limits the producer respects (PutRecords: 500 entries, 5 MiB; 1 MiB per record).
const (
	maxEntriesPerCall = 500
	maxBytesPerCall   = 5 << 20
	// MaxRecordBytes is the largest record Kinesis accepts: data plus partition key.
	MaxRecordBytes = 1 << 20
)

// Producer puts records on one stream and writes every acknowledged one into its Ledger.
// Failed entries of a call are retried (only those) until acknowledged or ctx ends. It is not
// safe for concurrent use; use one Producer per goroutine (they may share a Ledger).
type Producer struct {
	client PutRecordsAPI
	stream string
	ledger *Ledger
	// Refused counts records never sent because Kinesis cannot carry them (over 1 MiB
	// with the partition key): they never entered the raw stream, so they are not owed.
	Refused int
}

// NewProducer returns a producer putting on stream and recording into ledger.
func NewProducer(client PutRecordsAPI, stream string, ledger *Ledger) *Producer {
	return &Producer{client: client, stream: stream, ledger: ledger}
}

// Put sends msgs in order (in calls of at most 500 entries and 5 MiB) and records each
// acknowledged record. It returns when every message was acknowledged (or refused as too
// large), or with an error when ctx ends or a call fails permanently; entries acknowledged
// before the error are in the ledger.
func (p *Producer) Put(ctx context.Context, msgs []Message) error {
	var sendable []Message
	for _, m := range msgs {
		if len(m.Data)+len(m.PartitionKey) > MaxRecordBytes {
			p.Refused++
			continue
		}
		sendable = append(sendable, m)
	}
	for start := 0; start < len(sendable); {
		end, size := start, 0
		for end < len(sendable) && end-start < maxEntriesPerCall && size+len(sendable[end].Data)+len(sendable[end].PartitionKey) <= maxBytesPerCall {
			size += len(sendable[end].Data) + len(sendable[end].PartitionKey)
			end++
		}
		if err := p.putCall(ctx, sendable[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// putCall puts one call's worth of messages, retrying failed entries.
func (p *Producer) putCall(ctx context.Context, msgs []Message) error {
	pending := make([]int, len(msgs))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(min(time.Duration(attempt)*50*time.Millisecond, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("put records to %s: %d pending: %w", p.stream, len(pending), ctx.Err())
			case <-t.C:
			}
		}
		entries := make([]ktypes.PutRecordsRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = ktypes.PutRecordsRequestEntry{Data: msgs[i].Data, PartitionKey: aws.String(msgs[i].PartitionKey)}
		}
		out, err := p.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(p.stream), Records: entries})
		if err != nil {
			if ctx.Err() != nil || attempt >= 20 {
				return fmt.Errorf("put records to %s: %w", p.stream, err)
			}
			continue
		}
		if len(out.Records) != len(entries) {
			return fmt.Errorf("put records to %s: %d results for %d entries", p.stream, len(out.Records), len(entries))
		}
		var failed []int
		for j, res := range out.Records {
			i := pending[j]
			if aws.ToString(res.ErrorCode) != "" || res.SequenceNumber == nil {
				failed = append(failed, i)
				continue
			}
			m := msgs[i]
			p.ledger.Add(Entry{
				Stream: p.stream, Shard: aws.ToString(res.ShardId), SequenceNumber: aws.ToString(res.SequenceNumber),
				PartitionKey: m.PartitionKey, Hash: HashPayload(m.Data), Size: len(m.Data), EventID: EventID(m.Data),
				Kind: m.Kind, Expect: m.Expect, Decode: m.Decode,
			})
		}
		pending = failed
	}
	return nil
}
