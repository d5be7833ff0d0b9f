package processor

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	deagg "github.com/awslabs/kinesis-aggregation/go/v2/deaggregator"
	chk "github.com/vmware/vmware-go-kcl-v2/clientlibrary/checkpoint"
	kclworker "github.com/vmware/vmware-go-kcl-v2/clientlibrary/worker"
)

// TestGuardHidesAggregatesFromTheLibrary runs a GetRecords answer through our guard, then
// through the de-aggregator the library uses, then through toBatch: every user record comes
// out once with its sub-sequence, invalid aggregates and plain records come out whole, and a
// missing MillisBehindLatest becomes -1.
func TestGuardHidesAggregatesFromTheLibrary(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(seq, key string, data []byte) ktypes.Record {
		return ktypes.Record{SequenceNumber: aws.String(seq), PartitionKey: aws.String(key), Data: data,
			ApproximateArrivalTimestamp: aws.Time(now), EncryptionType: ktypes.EncryptionTypeNone}
	}
	agg := kplAggregate(t, []string{"a", "b", "a"}, [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`), []byte(`{"n":3}`)})
	// The library's de-aggregator would drop the whole batch because of this one record.
	poison := withDigest([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	out := &kinesis.GetRecordsOutput{Records: []ktypes.Record{
		rec("100", "p", []byte(`{"plain":true}`)),
		rec("200", "outer", append([]byte{}, agg...)),
		rec("300", "q", append([]byte{}, poison...)),
		rec("400", "r", []byte{}),
	}}
	if _, err := deagg.DeaggregateRecords([]ktypes.Record{rec("1", "x", append([]byte{}, poison...))}); err == nil {
		t.Fatal("the library's de-aggregator accepts the poison record now; revisit quirk 6")
	}

	guardGetRecords(out)
	if aws.ToInt64(out.MillisBehindLatest) != -1 {
		t.Errorf("MillisBehindLatest = %v", out.MillisBehindLatest)
	}
	libRecords, err := deagg.DeaggregateRecords(out.Records) // what the library does next
	if err != nil || len(libRecords) != 4 {
		t.Fatalf("library de-aggregation after the guard: %d records, %v", len(libRecords), err)
	}
	b := toBatch("s", "shard-0", libRecords, -1, nil)
	want := []Record{
		{Data: []byte(`{"plain":true}`), PartitionKey: "p", SequenceNumber: "100", ArrivalTime: now},
		{Data: []byte(`{"n":1}`), PartitionKey: "a", SequenceNumber: "200", SubSequence: 0, Aggregated: true, ArrivalTime: now},
		{Data: []byte(`{"n":2}`), PartitionKey: "b", SequenceNumber: "200", SubSequence: 1, Aggregated: true, ArrivalTime: now},
		{Data: []byte(`{"n":3}`), PartitionKey: "a", SequenceNumber: "200", SubSequence: 2, Aggregated: true, ArrivalTime: now},
		{Data: poison, PartitionKey: "q", SequenceNumber: "300", ArrivalTime: now},
		{Data: []byte{}, PartitionKey: "r", SequenceNumber: "400", ArrivalTime: now},
	}
	if b.Stream != "s" || b.ShardID != "shard-0" || b.MillisBehindLatest != -1 || len(b.Records) != len(want) {
		t.Fatalf("batch %+v", b)
	}
	for i := range want {
		g, w := b.Records[i], want[i]
		if !bytes.Equal(g.Data, w.Data) || g.PartitionKey != w.PartitionKey || g.SequenceNumber != w.SequenceNumber ||
			g.SubSequence != w.SubSequence || g.Aggregated != w.Aggregated || !g.ArrivalTime.Equal(w.ArrivalTime) {
			t.Errorf("record %d = %+v\nwant %+v", i, g, w)
		}
	}
}

// TestKCLLoggerDemotesRoutineWarnings: quirk 11 (and library info chatter) stay at debug.
func TestKCLLoggerDemotesRoutineWarnings(t *testing.T) {
	var buf bytes.Buffer
	l := newKCLLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Warnf("Error in rebalance: %+v", chk.ErrShardNotAssigned)
	l.Warnf("Cannot get lease: %+v", fmt.Errorf("x: %w", chk.ErrLeaseNotAcquired{}))
	l.Infof("Found %d shards", 4)
	if buf.Len() != 0 {
		t.Errorf("routine messages logged at info or above: %s", buf.String())
	}
	l.Warnf("Couldn't fetch checkpoint: %+v", errors.New("boom"))
	l.WithFields(map[string]any{"shard": "s-1"}).Errorf("Error in getRecords: %v", errors.New("bad"))
	got := buf.String()
	if !strings.Contains(got, `"level":"WARN","msg":"Couldn't fetch checkpoint: boom","component":"kcl"`) ||
		!strings.Contains(got, `"level":"ERROR","msg":"Error in getRecords: bad","component":"kcl","shard":"s-1"`) {
		t.Errorf("log output:\n%s", got)
	}
}

var _ kclRunner = (*kclworker.Worker)(nil)
