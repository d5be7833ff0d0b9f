package processor

// Tests against the real local emulators (kinesalite, gofakes3) started by internal/testenv:
// they show the sinks and the pipeline work with the real SDK clients and wire formats, and
// that real error shapes are classified as intended.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/quarantine"
)

func fastBackoff() SinkOption {
	return WithBackoff(Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond})
}

func TestEmulatorKinesisSinkWritesEveryRecordInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	env := testenv.Start(t)
	env.CreateStream(t, "curated", 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// 1,100 small records then 7 records of ~900 KB: calls of 500, 500, 100 small + 5 big
	// (the sixth big one would pass 5 MiB) and the last 2 big ones.
	var recs []CuratedRecord
	for i := 0; i < 1100; i++ {
		recs = append(recs, CuratedRecord{Data: fmt.Appendf(nil, `{"n":%d}`, i), PartitionKey: "key-" + strconv.Itoa(i%13)})
	}
	for i := 0; i < 7; i++ {
		data := append(fmt.Appendf(nil, `{"big":%d,"pad":"`, i), bytes.Repeat([]byte{'x'}, 900_000)...)
		recs = append(recs, CuratedRecord{Data: append(data, `"}`...), PartitionKey: "key-big"})
	}
	m := newTestMetrics()
	if err := NewKinesisSink(env.Kinesis(), m, fastBackoff()).Put(ctx, "curated", recs); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, m.SinkRequests, "kinesis", "ok"); got != 4 {
		t.Errorf("PutRecords calls = %v, want 4", got)
	}

	byShard := env.ReadStreamByShard(t, ctx, "curated")
	index := map[string]int{} // data -> position in recs
	for i, r := range recs {
		index[string(r.Data)] = i
	}
	seen := 0
	keyShard := map[string]string{}
	for shard, rs := range byShard {
		last := map[string]int{} // per key, position of the last record seen on this shard
		for _, r := range rs {
			i, ok := index[string(r.Data)]
			if !ok {
				t.Fatalf("unexpected record on %s: %.40q", shard, r.Data)
			}
			key := aws.ToString(r.PartitionKey)
			if key != recs[i].PartitionKey {
				t.Errorf("record %d has key %q, want %q", i, key, recs[i].PartitionKey)
			}
			if s, ok := keyShard[key]; ok && s != shard {
				t.Errorf("key %s on shards %s and %s", key, s, shard)
			}
			keyShard[key] = shard
			if p, ok := last[key]; ok && p > i {
				t.Errorf("key %s: record %d after record %d", key, i, p)
			}
			last[key] = i
			seen++
		}
	}
	if seen != len(recs) {
		t.Errorf("read %d records back, wrote %d", seen, len(recs))
	}
}

func TestEmulatorKinesisMissingStreamIsRetriedUntilCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	env := testenv.Start(t)
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	m := newTestMetrics()
	err := NewKinesisSink(env.Kinesis(), m, fastBackoff(), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))).
		Put(ctx, "no-such-stream", smallRecords(3))
	if !errors.Is(err, ErrUnacknowledged) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put = %v, want unacknowledged after the deadline", err)
	}
	if !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("error %q does not name the cause", err)
	}
	if !strings.Contains(logs.String(), `"class":"permanent"`) {
		t.Errorf("kinesalite's ResourceNotFoundException was not classified permanent:\n%s", logs.String())
	}
	if got := counter(t, m.SinkRequests, "kinesis", "error"); got < 2 {
		t.Errorf("%v failed calls: the sink gave up instead of retrying", got)
	}
}

func TestEmulatorS3SinkRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	env := testenv.Start(t)
	env.CreateBucket(t, "quarantine")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs := sampleQuarantine()
	key := quarantine.ObjectKey("q", "orders", "orders-raw", "shardId-000000000001", recs[0].ArrivalTime, "4961", "4962")
	sink := NewS3Sink(env.S3(), "quarantine", nil, fastBackoff())
	for i := 0; i < 2; i++ { // the second write replaces the first
		if err := sink.Put(ctx, key, recs); err != nil {
			t.Fatal(err)
		}
	}
	if keys := env.ListObjects(t, ctx, "quarantine", ""); len(keys) != 1 || keys[0] != key {
		t.Fatalf("objects %v, want [%s]", keys, key)
	}
	got, err := quarantine.Decode(bytes.NewReader(env.GetObject(t, ctx, "quarantine", key)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Errorf("read back %+v\nwant %+v", got, recs)
	}
	head, err := env.S3().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("quarantine"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(head.ContentType) != QuarantineContentType || aws.ToString(head.ContentEncoding) != QuarantineContentEncoding {
		t.Errorf("content type %q encoding %q", aws.ToString(head.ContentType), aws.ToString(head.ContentEncoding))
	}
}

func TestEmulatorS3MissingBucketIsRetriedUntilCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	env := testenv.Start(t)
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	err := NewS3Sink(env.S3(), "no-such-bucket", nil, fastBackoff(), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))).
		Put(ctx, "k", sampleQuarantine())
	if !errors.Is(err, ErrUnacknowledged) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put = %v, want unacknowledged after the deadline", err)
	}
	if !strings.Contains(logs.String(), `"class":"permanent"`) {
		t.Errorf("gofakes3's NoSuchBucket was not classified permanent:\n%s", logs.String())
	}
}

// The whole pipeline with real sinks: every source record ends up on the curated stream or
// in the batch's quarantine object, exactly once, with the bytes the contract produced.
func TestEmulatorPipelineRoutesToStreamAndBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	env := testenv.Start(t)
	env.CreateStream(t, "orders-curated", 2)
	env.CreateBucket(t, "meshgate-quarantine")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	f := newFixture(t, "v1", func(c *PipelineConfig) {
		c.CuratedSink = NewKinesisSink(env.Kinesis(), nil, fastBackoff())
		c.QuarantineSink = NewS3Sink(env.S3(), "meshgate-quarantine", nil, fastBackoff())
	})
	var payloads []string
	good, bad := map[string]bool{}, map[string]bool{}
	for i := 0; i < 700; i++ {
		switch {
		case i%10 == 3:
			payloads = append(payloads, fmt.Sprintf(`{"order_id":"o%d","customer_id":"C%d","total":-%d}`, i, i%17, i))
			bad[payloads[i]] = true
		case i%50 == 7:
			payloads = append(payloads, fmt.Sprintf(`{"order_id":"o%d",`, i))
			bad[payloads[i]] = true
		default:
			payloads = append(payloads, fmt.Sprintf(`{"order_id":"o%d","customer_id":"C%d","total":%d,"channel":"web"}`, i, i%17, i+1))
			good[strings.TrimSuffix(payloads[i], "}")+`,"gate":"meshgate"}`] = true
		}
	}
	b := f.batch(payloads...)
	if err := f.p.Process(ctx, b); err != nil {
		t.Fatal(err)
	}

	curated := env.ReadStream(t, ctx, "orders-curated")
	if len(curated) != len(good) {
		t.Errorf("%d records on the curated stream, want %d", len(curated), len(good))
	}
	for _, r := range curated {
		if !good[string(r.Data)] {
			t.Errorf("unexpected curated record %s", r.Data)
		}
		delete(good, string(r.Data))
		if k := aws.ToString(r.PartitionKey); !strings.HasPrefix(k, "C") {
			t.Errorf("curated key %q is not the contract's customer_id", k)
		}
	}
	keys := env.ListObjects(t, ctx, "meshgate-quarantine", "")
	wantKey := quarantine.ObjectKey("quarantine", "orders", "orders-raw", "shardId-000000000003", b.Records[0].ArrivalTime,
		b.Records[0].SequenceNumber, b.Records[len(b.Records)-1].SequenceNumber)
	if len(keys) != 1 || keys[0] != wantKey {
		t.Fatalf("objects %v, want [%s]", keys, wantKey)
	}
	qs, err := quarantine.Decode(bytes.NewReader(env.GetObject(t, ctx, "meshgate-quarantine", wantKey)))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != len(bad) {
		t.Errorf("%d quarantined records, want %d", len(qs), len(bad))
	}
	for _, q := range qs {
		if !bad[string(q.Payload)] {
			t.Errorf("unexpected quarantined payload %q", q.Payload)
		}
		if q.Worker != "worker-a" || q.Shard != "shardId-000000000003" || q.ContractVersion != "1.2.0" || q.SequenceNumber == "" {
			t.Errorf("provenance missing: %+v", q)
		}
	}
}
