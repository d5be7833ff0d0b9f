package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fake accepts PutRecords calls, failing chosen entries on their first attempt.
type fake struct {
	calls    []int // entries per call
	bytes    []int
	failOnce map[string]bool // data -> fail the first time
	seq      int
}

func (f *fake) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.calls = append(f.calls, len(in.Records))
	size := 0
	out := &kinesis.PutRecordsOutput{}
	for _, e := range in.Records {
		size += len(e.Data) + len(aws.ToString(e.PartitionKey))
		if f.failOnce[string(e.Data)] {
			delete(f.failOnce, string(e.Data))
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException")})
			continue
		}
		f.seq++
		out.Records = append(out.Records, types.PutRecordsResultEntry{ShardId: aws.String("shard-0"), SequenceNumber: aws.String(fmt.Sprint(f.seq))})
	}
	f.bytes = append(f.bytes, size)
	return out, nil
}

func TestPutLimitsAndPartialFailures(t *testing.T) {
	var entries []Entry
	for i := 0; i < 1200; i++ {
		entries = append(entries, Entry{Data: []byte(fmt.Sprint("small-", i)), PartitionKey: "k"})
	}
	for i := 0; i < 8; i++ { // 8 x ~900 KB: at most 5 per call (5 MiB)
		entries = append(entries, Entry{Data: append([]byte(fmt.Sprint("big-", i, "-")), bytes.Repeat([]byte("x"), 900_000)...), PartitionKey: "k"})
	}
	entries = append(entries,
		Entry{Data: bytes.Repeat([]byte("y"), MaxRecordBytes), PartitionKey: "k"}, // over 1 MiB with its key
		Entry{Data: []byte("no key")},
		Entry{Data: []byte("long key"), PartitionKey: strings.Repeat("k", 257)},
	)
	f := &fake{failOnce: map[string]bool{"small-3": true, "small-700": true}}
	res, err := Put(context.Background(), f, "s", entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range f.calls {
		if c > MaxRequestRecord || f.bytes[i] > MaxRequestBytes {
			t.Errorf("call %d: %d entries, %d bytes", i, c, f.bytes[i])
		}
	}
	seen := map[string]bool{}
	for i, r := range res[:1208] {
		if r.Err != nil || r.SequenceNumber == "" || seen[r.SequenceNumber] {
			t.Errorf("entry %d: %+v", i, r)
		}
		seen[r.SequenceNumber] = true
	}
	if !errors.Is(res[1208].Err, ErrTooLarge) || !errors.Is(res[1209].Err, ErrInvalidPartitionKey) || !errors.Is(res[1210].Err, ErrInvalidPartitionKey) {
		t.Errorf("refused entries: %v %v %v", res[1208].Err, res[1209].Err, res[1210].Err)
	}
	if f.seq != 1208 {
		t.Errorf("%d records stored, want 1208 (each once)", f.seq)
	}
}

func TestPutStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &failing{}
	_, err := Put(ctx, f, "s", []Entry{{Data: []byte("x"), PartitionKey: "k"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

type failing struct{}

func (failing) PutRecords(ctx context.Context, _ *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("boom")
}
