// Package producer writes records to a Kinesis stream with PutRecords, for `meshgate put`,
// the demo and the end-to-end tests: at most 500 records and 5 MiB per call, only the
// failed entries of a partly failed call retried (with capped, jittered backoff), and every
// record's shard and sequence number returned, so that callers can keep a ledger of what
// entered the stream.
//
// Per partition key, order is kept while nothing fails; a retried entry lands after
// entries of the same key that succeeded in the meantime.
package producer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Kinesis limits.
const (
	MaxRecordBytes   = 1 << 20 // data plus partition key
	MaxRequestBytes  = 5 << 20
	MaxRequestRecord = 500
)

// Sentinel errors of a Result; test with errors.Is.
var (
	// ErrTooLarge: data plus partition key exceed MaxRecordBytes; the record was not sent.
	ErrTooLarge = errors.New("record too large for kinesis")
	// ErrInvalidPartitionKey: the key is not 1..256 characters of UTF-8; not sent.
	ErrInvalidPartitionKey = errors.New("invalid partition key")
)

// API is the part of the Kinesis client Put uses; *kinesis.Client satisfies it.
type API interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Entry is one record to put.
type Entry struct {
	Data         []byte
	PartitionKey string
}

// Result is what became of one Entry.
type Result struct {
	Shard          string
	SequenceNumber string
	// Err is ErrTooLarge or ErrInvalidPartitionKey for a record that was not sent.
	Err error
}

// Put sends entries to stream and returns one Result per entry, in entry order. Entries
// Kinesis would refuse outright are not sent (their Result says why). Failed calls and
// failed entries are retried until ctx ends; then Put returns ctx's error with the results
// so far (entries not yet acknowledged have an empty SequenceNumber).
func Put(ctx context.Context, c API, stream string, entries []Entry) ([]Result, error) {
	results := make([]Result, len(entries))
	pending := make([]int, 0, len(entries))
	for i, e := range entries {
		switch {
		case len(e.PartitionKey) == 0 || utf8.RuneCountInString(e.PartitionKey) > 256 || !utf8.ValidString(e.PartitionKey):
			results[i].Err = ErrInvalidPartitionKey
		case len(e.Data)+len(e.PartitionKey) > MaxRecordBytes:
			results[i].Err = ErrTooLarge
		default:
			pending = append(pending, i)
		}
	}
	for len(pending) > 0 {
		n, size := 0, 0
		for n < len(pending) && n < MaxRequestRecord {
			e := entries[pending[n]]
			if size+len(e.Data)+len(e.PartitionKey) > MaxRequestBytes {
				break
			}
			size += len(e.Data) + len(e.PartitionKey)
			n++
		}
		chunk := pending[:n]
		failed, err := putChunk(ctx, c, stream, entries, chunk, results)
		if err != nil {
			return results, err
		}
		pending = append(failed, pending[n:]...)
	}
	return results, nil
}

// putChunk sends one call's worth of entries, retrying the whole call on errors, and
// returns the indexes of the entries that failed inside a successful call.
func putChunk(ctx context.Context, c API, stream string, entries []Entry, chunk []int, results []Result) ([]int, error) {
	in := &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: make([]types.PutRecordsRequestEntry, len(chunk))}
	for j, i := range chunk {
		in.Records[j] = types.PutRecordsRequestEntry{Data: entries[i].Data, PartitionKey: aws.String(entries[i].PartitionKey)}
	}
	for attempt := 0; ; attempt++ {
		out, err := c.PutRecords(ctx, in)
		if err == nil && len(out.Records) != len(chunk) {
			err = fmt.Errorf("put records to %s: %d results for %d entries", stream, len(out.Records), len(chunk))
		}
		if err == nil {
			var failed []int
			for j, r := range out.Records {
				if r.ErrorCode != nil {
					failed = append(failed, chunk[j])
					continue
				}
				results[chunk[j]] = Result{Shard: aws.ToString(r.ShardId), SequenceNumber: aws.ToString(r.SequenceNumber)}
			}
			if len(failed) > 0 {
				if err := sleep(ctx, attempt); err != nil {
					return nil, err
				}
			}
			return failed, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("put records to %s: %w", stream, ctx.Err())
		}
		if err := sleep(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

func sleep(ctx context.Context, attempt int) error {
	ceiling := min(50*time.Millisecond<<min(attempt, 8), 5*time.Second)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
