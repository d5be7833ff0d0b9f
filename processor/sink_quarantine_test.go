package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meshgate/meshgate/quarantine"
)

// storedObject is what one PutObject call carried.
type storedObject struct {
	Bucket, Key, ContentType, ContentEncoding, KMSKey string
	SSE                                               types.ServerSideEncryption
	ContentLength                                     int64
	Body                                              []byte
}

// fakeS3 records PutObject calls; fail decides whether call n (0-based) fails.
type fakeS3 struct {
	mu      sync.Mutex
	calls   []storedObject
	objects map[string][]byte
	fail    func(call int) error
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o := storedObject{Bucket: *in.Bucket, Key: *in.Key, SSE: in.ServerSideEncryption, Body: body}
	if in.ContentType != nil {
		o.ContentType = *in.ContentType
	}
	if in.ContentEncoding != nil {
		o.ContentEncoding = *in.ContentEncoding
	}
	if in.SSEKMSKeyId != nil {
		o.KMSKey = *in.SSEKMSKeyId
	}
	if in.ContentLength != nil {
		o.ContentLength = *in.ContentLength
	}
	n := len(f.calls)
	f.calls = append(f.calls, o)
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return nil, err
		}
	}
	if f.objects == nil {
		f.objects = map[string][]byte{}
	}
	f.objects[o.Key] = body
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) recorded() []storedObject {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]storedObject(nil), f.calls...)
}

func sampleQuarantine() []quarantine.Record {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return []quarantine.Record{
		{Payload: []byte("not json\xff"), Reason: quarantine.ReasonDecode, Failures: []quarantine.Failure{{Rule: "decode", Severity: "error", Message: "invalid UTF-8 at byte 8", Value: "invalid_utf8"}},
			Domain: "orders", Contract: "orders", ContractVersion: "2.1.0", Stream: "orders-raw", Shard: "shardId-000000000001",
			SequenceNumber: "4961", PartitionKey: "p", ArrivalTime: at, Worker: "w1", QuarantinedAt: at.Add(time.Second)},
		{Payload: []byte(`{"total":-1}`), Reason: quarantine.ReasonRules, Failures: []quarantine.Failure{{Rule: "total_positive", Severity: "error", Message: "total must be >= 0", Value: "-1"}},
			Domain: "orders", Contract: "orders", ContractVersion: "2.1.0", Stream: "orders-raw", Shard: "shardId-000000000001",
			SequenceNumber: "4962", SubSequence: 3, PartitionKey: "p", ArrivalTime: at, Worker: "w1", QuarantinedAt: at.Add(time.Second)},
	}
}

func TestS3SinkWritesEncryptedGzipNDJSON(t *testing.T) {
	tests := []struct {
		name    string
		opts    []SinkOption
		wantSSE types.ServerSideEncryption
		wantKMS string
	}{
		{"SSE-S3 by default", nil, types.ServerSideEncryptionAes256, ""},
		{"SSE-KMS with a key", []SinkOption{WithKMSKey("arn:aws:kms:eu-west-1:1:key/abc")}, types.ServerSideEncryptionAwsKms, "arn:aws:kms:eu-west-1:1:key/abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeS3{}
			m := newTestMetrics()
			recs := sampleQuarantine()
			if err := NewS3Sink(fs, "quarantine-bucket", m, tt.opts...).Put(context.Background(), "q/orders/x.ndjson.gz", recs); err != nil {
				t.Fatal(err)
			}
			calls := fs.recorded()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			o := calls[0]
			if o.Bucket != "quarantine-bucket" || o.Key != "q/orders/x.ndjson.gz" || o.ContentType != "application/x-ndjson" ||
				o.ContentEncoding != "gzip" || o.SSE != tt.wantSSE || o.KMSKey != tt.wantKMS || o.ContentLength != int64(len(o.Body)) {
				t.Errorf("object = %+v", o)
			}
			got, err := quarantine.Decode(bytes.NewReader(o.Body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Errorf("decoded %+v\nwant %+v", got, recs)
			}
			if c := counter(t, m.SinkRequests, "s3", "ok"); c != 1 {
				t.Errorf("s3 ok requests = %v", c)
			}
		})
	}
}

func TestS3SinkWritesNothingForNoRecords(t *testing.T) {
	fs := &fakeS3{}
	if err := NewS3Sink(fs, "b", nil).Put(context.Background(), "k", nil); err != nil {
		t.Fatal(err)
	}
	if len(fs.recorded()) != 0 {
		t.Error("an empty object was written")
	}
}

func TestS3SinkRetriesOutageWithFullBodyEachTime(t *testing.T) {
	fs := &fakeS3{fail: func(call int) error {
		switch {
		case call < 2:
			return statusErr(503)
		case call < 4:
			return apiErr("SlowDown")
		}
		return nil
	}}
	m := newTestMetrics()
	sr := &sleepRecorder{}
	if err := NewS3Sink(fs, "b", m, WithSleep(sr.sleep)).Put(context.Background(), "k", sampleQuarantine()); err != nil {
		t.Fatal(err)
	}
	calls := fs.recorded()
	if len(calls) != 5 {
		t.Fatalf("%d calls, want 5", len(calls))
	}
	for i, c := range calls {
		if !bytes.Equal(c.Body, calls[0].Body) || len(c.Body) == 0 {
			t.Errorf("attempt %d sent %d bytes, first sent %d", i, len(c.Body), len(calls[0].Body))
		}
	}
	if len(sr.recorded()) != 4 {
		t.Errorf("waits %v, want 4", sr.recorded())
	}
	if got := counter(t, m.SinkRequests, "s3", "error"); got != 4 {
		t.Errorf("s3 error requests = %v, want 4", got)
	}
	if got := counter(t, m.SinkRetries, "s3"); got != 4 {
		t.Errorf("s3 retries = %v, want 4", got)
	}
}

func TestS3SinkCancelDuringOutageReturnsError(t *testing.T) {
	fs := &fakeS3{fail: func(int) error { return apiErr("NoSuchBucket") }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sr := &sleepRecorder{cancelAt: 5, cancel: cancel}
	err := NewS3Sink(fs, "gone", nil, WithSleep(sr.sleep)).Put(ctx, "k", sampleQuarantine())
	if err == nil {
		t.Fatal("Put claimed success during an outage")
	}
	if !errors.Is(err, ErrUnacknowledged) || !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap ErrUnacknowledged and context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "s3://gone/k") || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("error %q lacks the object or the last cause", err)
	}
	if n := len(fs.recorded()); n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
}

func TestS3SinkDeadlineReportsTheOutageNotTheCancellation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	fs := &fakeS3{fail: func(int) error {
		if ctx.Err() != nil {
			return fmt.Errorf("operation error S3: PutObject: %w", ctx.Err())
		}
		return apiErr("ServiceUnavailable")
	}}
	err := NewS3Sink(fs, "b", nil, WithBackoff(Backoff{Initial: time.Millisecond, Max: 3 * time.Millisecond})).Put(ctx, "k", sampleQuarantine())
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnacknowledged) {
		t.Fatalf("Put = %v, want unacknowledged deadline", err)
	}
	if !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Errorf("error %q does not name the outage", err)
	}
}
