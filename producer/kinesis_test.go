package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/meshgate/meshgate/internal/testenv"
)

// TestPutKinesis puts more than one call's worth of records, a record of exactly 1 MiB and
// two that Kinesis would refuse into a two-shard kinesalite stream, and checks the results
// against what the stream holds: every sent record stored once, under the shard and
// sequence number its Result names, with its data and key; per key in entry order.
func TestPutKinesis(t *testing.T) {
	s := testenv.Start(t)
	const stream = "producer-test"
	s.CreateStream(t, stream, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var es []Entry
	for i := 0; i < 1234; i++ {
		es = append(es, Entry{Data: fmt.Appendf(nil, `{"n":%d}`, i), PartitionKey: fmt.Sprintf("C%07d", i%41)})
	}
	es = append(es, sized("max", MaxRecordBytes))                                  // sent
	es = append(es, sized("over", MaxRecordBytes+1))                               // refused
	es = append(es, Entry{Data: []byte(`{"n":"no key"}`)})                         // refused
	es = append(es, Entry{Data: []byte(`{"n":"last"}`), PartitionKey: "C0000000"}) // sent

	res, err := Put(ctx, s.Kinesis(), stream, es)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(es) {
		t.Fatalf("%d results for %d entries", len(res), len(es))
	}
	if !errors.Is(res[1235].Err, ErrTooLarge) || !errors.Is(res[1236].Err, ErrInvalidPartitionKey) {
		t.Errorf("refused entries: %+v %+v", res[1235], res[1236])
	}

	type stored struct {
		data []byte
		key  string
	}
	byShard := s.ReadStreamByShard(t, ctx, stream)
	if len(byShard) != 2 {
		t.Fatalf("%d shards, want 2", len(byShard))
	}
	at := map[[2]string]stored{} // shard, sequence number -> record
	total := 0
	for shard, recs := range byShard {
		for _, r := range recs {
			at[[2]string{shard, aws.ToString(r.SequenceNumber)}] = stored{r.Data, aws.ToString(r.PartitionKey)}
			total++
		}
	}
	sent := 0
	lastSeq := map[string]string{} // key -> sequence number of its previous entry
	for i, r := range res {
		if r.Err != nil {
			continue
		}
		sent++
		got, ok := at[[2]string{r.Shard, r.SequenceNumber}]
		if !ok {
			t.Errorf("entry %d: nothing stored at %s/%s", i, r.Shard, r.SequenceNumber)
			continue
		}
		if !bytes.Equal(got.data, es[i].Data) || got.key != es[i].PartitionKey {
			t.Errorf("entry %d: %s/%s holds %.40q key %q, want %.40q key %q", i, r.Shard, r.SequenceNumber, got.data, got.key, es[i].Data, es[i].PartitionKey)
		}
		// Sequence numbers are decimal strings of one length per stream here; compare as numbers.
		if prev, ok := lastSeq[es[i].PartitionKey]; ok && !seqLess(prev, r.SequenceNumber) {
			t.Errorf("entry %d: key %s out of order: %s after %s", i, es[i].PartitionKey, r.SequenceNumber, prev)
		}
		lastSeq[es[i].PartitionKey] = r.SequenceNumber
	}
	if sent != 1236 || total != sent {
		t.Errorf("%d entries sent, %d records in the stream; want 1236 each", sent, total)
	}
}

// seqLess compares two Kinesis sequence numbers (decimal strings of up to 128 digits).
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
