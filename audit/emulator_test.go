package audit

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/quarantine"
)

// TestAuditEmulators puts known records into two curated kinesalite streams and known
// quarantine objects (plus a shadow sample, a replay manifest and an object under another
// prefix, none of which count) into the S3 emulator, and checks that what ReadStream and
// ReadQuarantine return sums up to exactly those counts.
func TestAuditEmulators(t *testing.T) {
	s := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s.CreateStream(t, "orders-curated", 2)
	s.CreateStream(t, "customers-curated", 1)
	const bucket = "meshgate-quarantine"
	s.CreateBucket(t, bucket)

	put := func(stream string, n int) map[string]string { // data -> partition key
		t.Helper()
		want := map[string]string{}
		in := &kinesis.PutRecordsInput{StreamName: aws.String(stream)}
		for i := 0; i < n; i++ {
			data, key := fmt.Sprintf(`{"stream":%q,"n":%d}`, stream, i), fmt.Sprintf("C%07d", i)
			want[data] = key
			in.Records = append(in.Records, ktypes.PutRecordsRequestEntry{Data: []byte(data), PartitionKey: aws.String(key)})
		}
		out, err := s.Kinesis().PutRecords(ctx, in)
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("put %s: %v (%d failed)", stream, err, aws.ToInt32(out.FailedRecordCount))
		}
		return want
	}
	wantOrders, wantCustomers := put("orders-curated", 37), put("customers-curated", 12)

	arrival := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	putObject := func(key string, recs []quarantine.Record) {
		t.Helper()
		var buf bytes.Buffer
		if err := quarantine.Encode(&buf, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
		}
	}
	q := func(domain, reason, seq string, failures ...quarantine.Failure) quarantine.Record {
		return quarantine.Record{Payload: []byte(`{"seq":"` + seq + `"}`), Reason: reason, Failures: failures, Domain: domain,
			Contract: domain, ContractVersion: "1.0.0", Stream: domain + "-raw", Shard: "shardId-000000000000",
			SequenceNumber: seq, PartitionKey: "k", ArrivalTime: arrival, Worker: "w1", QuarantinedAt: arrival.Add(time.Second)}
	}
	fail := func(rule string) quarantine.Failure {
		return quarantine.Failure{Rule: rule, Severity: "error", Message: rule + " failed"}
	}
	decode := func(reason string) quarantine.Failure {
		return quarantine.Failure{Rule: "decode", Severity: "error", Message: "cannot decode", Value: reason}
	}
	key := func(domain, first, last string) string {
		return quarantine.ObjectKey("quarantine", domain, domain+"-raw", "shardId-000000000000", arrival, first, last)
	}
	orders1 := []quarantine.Record{
		q("orders", quarantine.ReasonRules, "1", fail("total_matches_items"), fail("currency.enum")),
		q("orders", quarantine.ReasonRules, "2", fail("qty_positive")),
		q("orders", quarantine.ReasonRules, "3", fail("qty_positive")),
		q("orders", quarantine.ReasonDecode, "4", decode("bom")),
	}
	putObject(key("orders", "1", "4"), orders1)
	putObject(key("orders", "9", "9"), []quarantine.Record{q("orders", quarantine.ReasonTooLarge, "9", fail("too_large"))})
	putObject(key("customers", "5", "7"), []quarantine.Record{
		q("customers", quarantine.ReasonRules, "5", fail("email.format")),
		q("customers", quarantine.ReasonRules, "6", fail("email.format")),
		q("customers", quarantine.ReasonNoContract, "7"),
	})
	// Not quarantine records, or not under the prefix: must not be counted.
	putObject(quarantine.ShadowKey("quarantine", "orders", "w1", arrival), orders1)
	putObject(quarantine.ObjectKey("archive", "orders", "orders-raw", "shardId-000000000000", arrival, "1", "4"), orders1)
	if _, err := s.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(quarantine.ManifestKey(key("orders", "1", "4"))),
		Body: bytes.NewReader([]byte(`{"records":4}`))}); err != nil {
		t.Fatal(err)
	}

	curated := map[string][]StreamRecord{}
	for stream, want := range map[string]map[string]string{"orders-curated": wantOrders, "customers-curated": wantCustomers} {
		recs, err := ReadStream(ctx, s.Kinesis(), stream)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		shards := map[string]bool{}
		for i, r := range recs {
			got[string(r.Data)] = r.PartitionKey
			shards[r.Shard] = true
			if r.ArrivalTime.IsZero() || r.SequenceNumber == "" {
				t.Errorf("%s record %d: %+v", stream, i, r)
			}
			if i > 0 && recs[i-1].Shard == r.Shard && !seqLess(recs[i-1].SequenceNumber, r.SequenceNumber) {
				t.Errorf("%s: %s/%s after %s", stream, r.Shard, r.SequenceNumber, recs[i-1].SequenceNumber)
			}
		}
		if len(recs) != len(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %d records, want the %d put", stream, len(recs), len(want))
		}
		if wantShards := map[string]int{"orders-curated": 2, "customers-curated": 1}[stream]; len(shards) != wantShards {
			t.Errorf("%s: records from %d shards, want %d", stream, len(shards), wantShards)
		}
		curated[stream] = recs
	}

	objs, err := ReadQuarantine(ctx, s.S3(), bucket, "quarantine/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	wantKeys := []string{key("customers", "5", "7"), key("orders", "1", "4"), key("orders", "9", "9")}
	sort.Strings(wantKeys)
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("objects %q, want %q", keys, wantKeys)
	}
	if len(objs) == 3 && !reflect.DeepEqual(objs[1].Records, orders1) {
		t.Errorf("%s read back as\n%+v\nwant\n%+v", objs[1].Key, objs[1].Records, orders1)
	}

	got := Summarize(curated, objs)
	want := Summary{
		Curated:     map[string]int{"orders-curated": 37, "customers-curated": 12},
		Quarantined: map[string]int{"orders": 5, "customers": 3},
		Objects:     3,
		ByReason: map[string]int{"orders/rules": 3, "orders/decode": 1, "orders/too_large": 1,
			"customers/rules": 2, "customers/no_contract": 1},
		ByRule: map[string]int{"orders/total_matches_items": 1, "orders/currency.enum": 1, "orders/qty_positive": 2,
			"orders/decode:bom": 1, "orders/too_large": 1, "customers/email.format": 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summary\n%+v\nwant\n%+v", got, want)
	}
	if got.Total() != 57 {
		t.Errorf("Total() = %d, want 57", got.Total())
	}
}

// seqLess compares two Kinesis sequence numbers (decimal strings).
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
