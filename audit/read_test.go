package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meshgate/meshgate/quarantine"
)

// page is one GetRecords answer of fakeStream.
type page struct {
	seqs   []string // one record per sequence number; its data is "<shard>:<seq>"
	behind int64
	last   bool // no NextShardIterator: the shard is closed and read to its end
}

// fakeStream serves ListShards in pages of two shards, and per shard a scripted list of
// GetRecords pages reached through iterators "<shard>#<page>".
type fakeStream struct {
	stream   string
	shards   []string
	pages    map[string][]page
	failRead string // shard whose GetRecords fails

	listCalls []kinesis.ListShardsInput
	reads     []string // iterators passed to GetRecords
}

var errThrottled = errors.New("ProvisionedThroughputExceededException")

func (f *fakeStream) ListShards(_ context.Context, in *kinesis.ListShardsInput, _ ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	f.listCalls = append(f.listCalls, *in)
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	} else if aws.ToString(in.StreamName) != f.stream {
		return nil, fmt.Errorf("ResourceNotFoundException: stream %s", aws.ToString(in.StreamName))
	}
	out := &kinesis.ListShardsOutput{}
	end := min(start+2, len(f.shards))
	for _, id := range f.shards[start:end] {
		out.Shards = append(out.Shards, ktypes.Shard{ShardId: aws.String(id)})
	}
	if end < len(f.shards) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeStream) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if aws.ToString(in.StreamName) != f.stream || in.ShardIteratorType != ktypes.ShardIteratorTypeTrimHorizon {
		return nil, fmt.Errorf("unexpected iterator request %s %s", aws.ToString(in.StreamName), in.ShardIteratorType)
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(aws.ToString(in.ShardId) + "#0")}, nil
}

var epoch = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

func (f *fakeStream) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	it := aws.ToString(in.ShardIterator)
	f.reads = append(f.reads, it)
	shard, n, _ := strings.Cut(it, "#")
	if shard == f.failRead {
		return nil, errThrottled
	}
	var i int
	fmt.Sscan(n, &i)
	p := f.pages[shard][i] // a read past the script panics: the reader went too far
	out := &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(p.behind)}
	for _, seq := range p.seqs {
		out.Records = append(out.Records, ktypes.Record{
			SequenceNumber: aws.String(seq), PartitionKey: aws.String("pk-" + seq),
			Data: []byte(shard + ":" + seq), ApproximateArrivalTimestamp: aws.Time(epoch.Add(time.Duration(len(seq)) * time.Second)),
		})
	}
	if !p.last {
		out.NextShardIterator = aws.String(fmt.Sprintf("%s#%d", shard, i+1))
	}
	return out, nil
}

func rec(shard, seq string) StreamRecord {
	return StreamRecord{Shard: shard, SequenceNumber: seq, PartitionKey: "pk-" + seq, Data: []byte(shard + ":" + seq),
		ArrivalTime: epoch.Add(time.Duration(len(seq)) * time.Second)}
}

func TestReadStream(t *testing.T) {
	f := &fakeStream{
		stream: "orders-curated",
		shards: []string{"shard-0", "shard-1", "shard-2"},
		pages: map[string][]page{
			// At the end: an empty page with nothing behind ends the shard, even though the
			// iterator goes on (a later page would be a record that arrived after the read).
			"shard-0": {{seqs: []string{"1", "2"}}, {}, {seqs: []string{"late"}}},
			// Empty but behind: keep reading.
			"shard-1": {{behind: 5000}, {seqs: []string{"10"}, behind: 1000}, {seqs: []string{"11", "12"}}, {}},
			// Closed shard: the last page has no next iterator.
			"shard-2": {{seqs: []string{"100"}, last: true}},
		},
	}
	got, err := ReadStream(context.Background(), f, "orders-curated")
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamRecord{rec("shard-0", "1"), rec("shard-0", "2"), rec("shard-1", "10"), rec("shard-1", "11"),
		rec("shard-1", "12"), rec("shard-2", "100")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n%+v\nwant\n%+v", got, want)
	}
	if want := []string{"shard-0#0", "shard-0#1", "shard-1#0", "shard-1#1", "shard-1#2", "shard-1#3", "shard-2#0"}; !reflect.DeepEqual(f.reads, want) {
		t.Errorf("GetRecords iterators %v, want %v", f.reads, want)
	}
	// The second ListShards page is asked for by token alone (Kinesis refuses a stream name with it).
	if len(f.listCalls) != 2 || f.listCalls[1].StreamName != nil || aws.ToString(f.listCalls[1].NextToken) != "2" {
		t.Errorf("ListShards calls: %+v", f.listCalls)
	}
}

func TestReadStreamErrors(t *testing.T) {
	f := &fakeStream{stream: "orders-curated", shards: []string{"shard-0", "shard-1"},
		pages: map[string][]page{"shard-0": {{seqs: []string{"1"}}, {}}}, failRead: "shard-1"}
	_, err := ReadStream(context.Background(), f, "orders-curated")
	if !errors.Is(err, errThrottled) || !strings.HasPrefix(err.Error(), "read orders-curated/shard-1: ") {
		t.Errorf("err = %v", err)
	}
	_, err = ReadStream(context.Background(), f, "nope")
	if err == nil || !strings.HasPrefix(err.Error(), "list shards of nope: ResourceNotFoundException") {
		t.Errorf("err = %v", err)
	}
}

// fakeBucket serves ListObjectsV2 in pages of pageSize keys, in the order the keys were
// added, and GetObject from memory.
type fakeBucket struct {
	bucket   string
	keys     []string
	objects  map[string][]byte
	pageSize int
	getFails map[string]error

	gets   []string
	tokens []string
}

func (f *fakeBucket) put(t *testing.T, key string, recs []quarantine.Record) {
	t.Helper()
	var buf bytes.Buffer
	if err := quarantine.Encode(&buf, recs); err != nil {
		t.Fatal(err)
	}
	f.putRaw(key, buf.Bytes())
}

func (f *fakeBucket) putRaw(key string, body []byte) {
	if f.objects == nil {
		f.objects = map[string][]byte{}
	}
	f.keys = append(f.keys, key)
	f.objects[key] = body
}

func (f *fakeBucket) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if aws.ToString(in.Bucket) != f.bucket {
		return nil, fmt.Errorf("NoSuchBucket: %s", aws.ToString(in.Bucket))
	}
	f.tokens = append(f.tokens, aws.ToString(in.ContinuationToken))
	var matching []string
	for _, k := range f.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			matching = append(matching, k)
		}
	}
	start := 0
	fmt.Sscan(aws.ToString(in.ContinuationToken), &start)
	end := min(start+f.pageSize, len(matching))
	out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(end < len(matching))}
	for _, k := range matching[start:end] {
		out.Contents = append(out.Contents, s3types.Object{Key: aws.String(k)})
	}
	if end < len(matching) {
		out.NextContinuationToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *fakeBucket) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.gets = append(f.gets, key)
	if err := f.getFails[key]; err != nil {
		return nil, err
	}
	body, ok := f.objects[key]
	if !ok || aws.ToString(in.Bucket) != f.bucket {
		return nil, &s3types.NoSuchKey{}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body))}, nil
}

func qrec(domain, seq string, rules ...string) quarantine.Record {
	r := quarantine.Record{Payload: []byte(`{"id":"` + seq + `"}`), Reason: quarantine.ReasonRules, Domain: domain,
		Stream: domain + "-raw", Shard: "shardId-000000000000", SequenceNumber: seq, PartitionKey: "k" + seq,
		ArrivalTime: epoch, QuarantinedAt: epoch.Add(time.Second), Worker: "w1"}
	for _, n := range rules {
		r.Failures = append(r.Failures, quarantine.Failure{Rule: n, Severity: "error", Message: n + " failed"})
	}
	return r
}

func TestReadQuarantine(t *testing.T) {
	key := func(domain, first, last string) string {
		return quarantine.ObjectKey("quarantine", domain, domain+"-raw", "shardId-000000000000", epoch, first, last)
	}
	a := []quarantine.Record{qrec("orders", "3", "total_matches_items"), qrec("orders", "4", "currency.enum", "qty_positive")}
	b := []quarantine.Record{qrec("orders", "1", "qty_positive")}
	c := []quarantine.Record{qrec("customers", "7", "email.format")}
	f := &fakeBucket{bucket: "meshgate-quarantine", pageSize: 2}
	// Listed out of key order, across three pages, with things that are not quarantine objects.
	f.put(t, key("orders", "3", "4"), a)
	f.put(t, quarantine.ShadowKey("quarantine", "orders", "w1", epoch), []quarantine.Record{qrec("orders", "9", "shadow")})
	f.putRaw(quarantine.ManifestKey(key("orders", "3", "4")), []byte(`{"replayed":2}`))
	f.put(t, key("customers", "7", "7"), c)
	f.putRaw("quarantine/README.txt", []byte("not an object"))
	f.put(t, key("orders", "1", "1"), b)
	f.put(t, quarantine.ObjectKey("elsewhere", "orders", "orders-raw", "s", epoch, "5", "5"), []quarantine.Record{qrec("orders", "5", "x")})

	objs, err := ReadQuarantine(context.Background(), f, "meshgate-quarantine", "quarantine/")
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{{Key: key("customers", "7", "7"), Records: c}, {Key: key("orders", "1", "1"), Records: b}, {Key: key("orders", "3", "4"), Records: a}}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("objects:\n%+v\nwant\n%+v", objs, want)
	}
	if wantGets := []string{want[0].Key, want[1].Key, want[2].Key}; !reflect.DeepEqual(f.gets, wantGets) {
		t.Errorf("fetched %q, want only the quarantine objects %q", f.gets, wantGets)
	}
	if wantTokens := []string{"", "2", "4"}; !reflect.DeepEqual(f.tokens, wantTokens) {
		t.Errorf("continuation tokens %q, want %q", f.tokens, wantTokens)
	}
	if s := Summarize(nil, objs); s.Quarantined["orders"] != 3 || s.Quarantined["customers"] != 1 || s.ByRule["orders/qty_positive"] != 2 {
		t.Errorf("summary of what was read: %+v", s)
	}
}

func TestReadQuarantineErrors(t *testing.T) {
	good := quarantine.ObjectKey("q", "orders", "orders-raw", "s", epoch, "1", "1")
	bad := quarantine.ObjectKey("q", "orders", "orders-raw", "s", epoch, "2", "2")
	denied := errors.New("AccessDenied")
	tests := []struct {
		name    string
		bucket  string
		body    []byte // of bad
		getFail error
		wantErr string
		wantIs  error
	}{
		{name: "no bucket", bucket: "other", wantErr: "list s3://other/q: NoSuchBucket: other"},
		{name: "not gzip", bucket: "b", body: []byte("plain text"), wantErr: "decode s3://b/" + bad + ": open gzip: "},
		{name: "get fails", bucket: "b", getFail: denied, wantErr: "get s3://b/" + bad + ": AccessDenied", wantIs: denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeBucket{bucket: "b", pageSize: 10, getFails: map[string]error{bad: tt.getFail}}
			f.put(t, good, []quarantine.Record{qrec("orders", "1")})
			f.putRaw(bad, tt.body)
			_, err := ReadQuarantine(context.Background(), f, tt.bucket, "q")
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to start with %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v does not wrap %v", err, tt.wantIs)
			}
		})
	}
}
