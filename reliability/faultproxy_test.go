package reliability

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/meshgate/meshgate/internal/testenv"
)

// fakeKinesis answers PutRecords like Kinesis (one result per entry, sequence numbers in
// order) and anything else with {}; it remembers every entry it stored.
type fakeKinesis struct {
	mu      sync.Mutex
	stored  []string // base64 data, in order
	targets []string
}

func (f *fakeKinesis) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := r.Header.Get("X-Amz-Target")
	f.targets = append(f.targets, op)
	if !strings.HasSuffix(op, ".PutRecords") {
		_, _ = io.WriteString(w, "{}")
		return
	}
	var req struct {
		Records []struct{ Data, PartitionKey string }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var res []map[string]string
	for _, e := range req.Records {
		f.stored = append(f.stored, e.Data)
		res = append(res, map[string]string{"ShardId": "shardId-000000000000", "SequenceNumber": fmt.Sprintf("%d", len(f.stored))})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedRecordCount": 0, "Records": res})
}

func newTestProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type putResult struct {
	FailedRecordCount int
	Records           []struct{ ShardId, SequenceNumber, ErrorCode, ErrorMessage string }
}

func postJSON(t *testing.T, url, op string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func putRecordsBody(n int) (map[string]any, []string) {
	var recs []map[string]string
	var data []string
	for i := 0; i < n; i++ {
		d := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "record-%03d", i))
		data = append(data, d)
		recs = append(recs, map[string]string{"Data": d, "PartitionKey": fmt.Sprint(i)})
	}
	return map[string]any{"StreamName": "s", "Records": recs}, data
}

func TestProxyFailsChosenEntriesAndForwardsOnlyTheOthers(t *testing.T) {
	backend := &fakeKinesis{}
	srv := httptest.NewServer(backend)
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	if err := p.Set(Faults{PutRecordsFailRate: 0.4}); err != nil {
		t.Fatal(err)
	}
	body, data := putRecordsBody(200)
	resp, out := postJSON(t, p.URL(), "PutRecords", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, out)
	}
	var res putResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Records) != 200 {
		t.Fatalf("%d results for 200 entries", len(res.Records))
	}
	var want []string // the entries the answer says were written, in order
	failed := 0
	for i, r := range res.Records {
		switch {
		case r.ErrorCode == "ProvisionedThroughputExceededException" && r.SequenceNumber == "":
			failed++
		case r.ErrorCode == "" && r.SequenceNumber != "":
			want = append(want, data[i])
			if r.SequenceNumber != fmt.Sprint(len(want)) {
				t.Fatalf("entry %d has sequence number %s, want %d (the emulator's result for it)", i, r.SequenceNumber, len(want))
			}
		default:
			t.Fatalf("entry %d: %+v", i, r)
		}
	}
	if failed < 40 || failed > 120 || res.FailedRecordCount != failed || p.Stats().FailedEntries != failed {
		t.Fatalf("failed %d entries, FailedRecordCount %d, stats %d; want about 80, all equal", failed, res.FailedRecordCount, p.Stats().FailedEntries)
	}
	if strings.Join(backend.stored, ",") != strings.Join(want, ",") {
		t.Fatalf("the emulator stored %d entries, the answer says %d were written", len(backend.stored), len(want))
	}

	// Every entry failed: nothing reaches the emulator.
	if err := p.Set(Faults{PutRecordsFailRate: 1}); err != nil {
		t.Fatal(err)
	}
	before := len(backend.stored)
	resp, out = postJSON(t, p.URL(), "PutRecords", body)
	if err := json.Unmarshal(out, &res); err != nil || resp.StatusCode != 200 || res.FailedRecordCount != 200 || len(res.Records) != 200 {
		t.Fatalf("all failed: status %d, %s", resp.StatusCode, out)
	}
	if len(backend.stored) != before {
		t.Fatalf("the emulator got %d entries of a request whose entries all failed", len(backend.stored)-before)
	}

	// Cleared: everything passes.
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	_, out = postJSON(t, p.URL(), "PutRecords", body)
	if err := json.Unmarshal(out, &res); err != nil || res.FailedRecordCount != 0 || len(backend.stored) != before+200 {
		t.Fatalf("cleared: %s, stored %d", out, len(backend.stored)-before)
	}
}

func TestProxyInjectsErrorsOnlyForChosenOperations(t *testing.T) {
	backend := &fakeKinesis{}
	srv := httptest.NewServer(backend)
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	if err := p.Set(Faults{Ops: []string{"PutRecords"}, ErrorRate: 1, Errors: []HTTPError{Throttling}}); err != nil {
		t.Fatal(err)
	}
	body, _ := putRecordsBody(3)
	resp, out := postJSON(t, p.URL(), "PutRecords", body)
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "ThrottlingException:") ||
		!strings.Contains(string(out), `"__type":"ThrottlingException"`) {
		t.Fatalf("injected throttling: status %d, header %q, body %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), out)
	}
	resp, _ = postJSON(t, p.URL(), "GetRecords", map[string]string{})
	if resp.StatusCode != 200 {
		t.Fatalf("GetRecords is not in Ops but got status %d", resp.StatusCode)
	}
	s := p.Stats()
	if s.InjectedErrors != 1 || s.Forwarded != 1 || s.Ops["PutRecords"] != 1 || s.Ops["GetRecords"] != 1 || len(backend.stored) != 0 {
		t.Fatalf("stats %+v, stored %d", s, len(backend.stored))
	}

	// A fraction of requests: about half of 200 fail.
	if err := p.Set(Faults{ErrorRate: 0.5, Errors: []HTTPError{InternalFailure, ServiceUnavailable}}); err != nil {
		t.Fatal(err)
	}
	codes := map[int]int{}
	for i := 0; i < 200; i++ {
		resp, _ := postJSON(t, p.URL(), "DescribeStream", map[string]string{})
		codes[resp.StatusCode]++
	}
	if codes[500] < 30 || codes[503] < 30 || codes[200] < 60 || codes[500]+codes[503]+codes[200] != 200 {
		t.Fatalf("status counts %v, want about 50/50/100 of 500/503/200", codes)
	}
}

func TestProxyRecordsChosenExchanges(t *testing.T) {
	backend := &fakeKinesis{}
	srv := httptest.NewServer(backend)
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	p.Record("PutRecords")
	body, _ := putRecordsBody(2)
	postJSON(t, p.URL(), "PutRecords", body)
	postJSON(t, p.URL(), "GetRecords", map[string]string{})
	p.Set(Faults{Ops: []string{"PutRecords"}, ErrorRate: 1, Errors: []HTTPError{Throttling}})
	postJSON(t, p.URL(), "PutRecords", body)
	xs := p.Recorded()
	if len(xs) != 2 || xs[0].Op != "PutRecords" || xs[0].Status != 200 || xs[1].Status != 400 || !xs[0].At.Before(xs[1].At) {
		t.Fatalf("recorded %+v, want the two PutRecords (200, then 400)", xs)
	}
	want, _ := json.Marshal(body)
	if string(xs[0].Request) != string(want) {
		t.Fatalf("recorded body %s, want %s", xs[0].Request, want)
	}
	if len(backend.stored) != 2 {
		t.Fatalf("the emulator got %d entries, want the 2 of the first call (recording must not eat the body)", len(backend.stored))
	}
}

func TestProxyAddsLatency(t *testing.T) {
	srv := httptest.NewServer(&fakeKinesis{})
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	if err := p.Set(Faults{Latency: 300 * time.Millisecond, Ops: []string{"PutRecords"}}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	postJSON(t, p.URL(), "GetRecords", map[string]string{})
	if d := time.Since(began); d > 250*time.Millisecond {
		t.Fatalf("GetRecords took %v; latency applies to PutRecords only", d)
	}
	began = time.Now()
	body, _ := putRecordsBody(1)
	postJSON(t, p.URL(), "PutRecords", body)
	if d := time.Since(began); d < 300*time.Millisecond {
		t.Fatalf("PutRecords took %v, want at least the 300ms latency", d)
	}
}

func TestProxyOutages(t *testing.T) {
	srv := httptest.NewServer(&fakeKinesis{})
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	client := &http.Client{Transport: &http.Transport{}} // keep-alive connections, like the SDK
	get := func() (int, error) {
		req, _ := http.NewRequest(http.MethodPost, p.URL(), strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.DescribeTable")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(); err != nil || code != 200 {
		t.Fatalf("up: %d %v", code, err)
	}

	if err := p.Set(Faults{Outage: Unavailable}); err != nil {
		t.Fatal(err)
	}
	if code, err := get(); err != nil || code != 503 {
		t.Fatalf("unavailable: %d %v, want 503", code, err)
	}

	if err := p.Set(Faults{Outage: Reset}); err != nil {
		t.Fatal(err)
	}
	if code, err := get(); err == nil {
		t.Fatalf("reset: got status %d, want a connection error", code)
	}

	if err := p.Set(Faults{Outage: Refused}); err != nil {
		t.Fatal(err)
	}
	_, err := get()
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused: err = %v, want connection refused", err)
	}

	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if code, err := get(); err != nil || code != 200 {
		t.Fatalf("after the outage, on the same URL: %d %v", code, err)
	}
	if s := p.Stats(); s.OutageAnswers != 2 {
		t.Fatalf("outage answers %d, want 2 (503 and reset; refused connections never reach the proxy)", s.OutageAnswers)
	}
}

func TestProxyS3ErrorsAreXML(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	p := newTestProxy(t, srv.URL)
	if err := p.Set(Faults{Ops: []string{"PutObject"}, ErrorRate: 1, Errors: []HTTPError{S3SlowDown}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, p.URL()+"/bucket/a/key", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "<Code>SlowDown</Code>") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	resp, err = http.Get(p.URL() + "/bucket/a/key")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GetObject is not in Ops: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestProxyWithSDKAndEmulators checks that the SDK reads the injected faults as AWS's own:
// per-entry PutRecords failures with the emulator holding exactly the written entries,
// typed throttling errors, 5xx retried by the SDK, and S3 outages.
func TestProxyWithSDKAndEmulators(t *testing.T) {
	t.Parallel()
	st := testenv.Start(t)
	st.CreateStream(t, "faults", 2)
	st.CreateBucket(t, "quarantine")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kp := newTestProxy(t, st.Endpoints().Kinesis)
	sp := newTestProxy(t, st.Endpoints().S3)
	cfg := st.AWSConfig(ctx)
	kin := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kp.URL()) })
	kinOnce := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kp.URL()); o.RetryMaxAttempts = 1 })
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(sp.URL())
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})

	t.Run("partial PutRecords failure", func(t *testing.T) {
		if err := kp.Set(Faults{PutRecordsFailRate: 0.3}); err != nil {
			t.Fatal(err)
		}
		var entries []ktypes.PutRecordsRequestEntry
		for i := 0; i < 300; i++ {
			entries = append(entries, ktypes.PutRecordsRequestEntry{Data: fmt.Appendf(nil, "r%03d", i), PartitionKey: aws.String(fmt.Sprint(i))})
		}
		out, err := kin.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("faults"), Records: entries})
		if err != nil {
			t.Fatal(err)
		}
		written := map[string]string{} // data -> sequence number
		failed := 0
		for i, r := range out.Records {
			if aws.ToString(r.ErrorCode) != "" {
				if aws.ToString(r.ErrorCode) != "ProvisionedThroughputExceededException" {
					t.Fatalf("entry %d: error code %s", i, aws.ToString(r.ErrorCode))
				}
				failed++
				continue
			}
			written[string(entries[i].Data)] = aws.ToString(r.SequenceNumber)
		}
		if failed == 0 || int(aws.ToInt32(out.FailedRecordCount)) != failed {
			t.Fatalf("failed %d, FailedRecordCount %d", failed, aws.ToInt32(out.FailedRecordCount))
		}
		stored := st.ReadStream(t, ctx, "faults")
		if len(stored) != len(written) {
			t.Fatalf("the stream holds %d records, the answer says %d were written", len(stored), len(written))
		}
		for _, r := range stored {
			if seq, ok := written[string(r.Data)]; !ok || seq != aws.ToString(r.SequenceNumber) {
				t.Fatalf("stream record %q (seq %s) is not one the answer reported written (seq %q)", r.Data, aws.ToString(r.SequenceNumber), seq)
			}
		}
		kp.Clear()
	})

	t.Run("throttling errors are typed", func(t *testing.T) {
		kp.Set(Faults{Ops: []string{"PutRecords"}, ErrorRate: 1, Errors: []HTTPError{ThroughputExceeded}})
		_, err := kinOnce.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("faults"),
			Records: []ktypes.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}})
		var pte *ktypes.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) {
			t.Fatalf("err = %v, want *types.ProvisionedThroughputExceededException", err)
		}
		kp.Set(Faults{Ops: []string{"PutRecords"}, ErrorRate: 1, Errors: []HTTPError{Throttling}})
		_, err = kinOnce.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("faults"),
			Records: []ktypes.PutRecordsRequestEntry{{Data: []byte("x"), PartitionKey: aws.String("k")}}})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
			t.Fatalf("err = %v, want API error ThrottlingException", err)
		}
		kp.Clear()
	})

	t.Run("5xx are retried by the SDK", func(t *testing.T) {
		kp.Set(Faults{Ops: []string{"DescribeStreamSummary"}, ErrorRate: 1, Errors: []HTTPError{ServiceUnavailable}})
		before := kp.Stats().Ops["DescribeStreamSummary"]
		_, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("faults")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "ServiceUnavailable" {
			t.Fatalf("err = %v, want ServiceUnavailable", err)
		}
		if n := kp.Stats().Ops["DescribeStreamSummary"] - before; n != 3 {
			t.Fatalf("the SDK sent %d attempts, want its default 3", n)
		}
		kp.Clear()
		if _, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("faults")}); err != nil {
			t.Fatalf("after clearing: %v", err)
		}
	})

	t.Run("S3 down and back", func(t *testing.T) {
		put := func(key string) error {
			_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("quarantine"), Key: aws.String(key), Body: bytes.NewReader([]byte("body-" + key))})
			return err
		}
		if err := put("a"); err != nil {
			t.Fatal(err)
		}
		sp.Set(Faults{Outage: Refused})
		// A kept-alive connection the client has not yet seen closed fails with a broken
		// pipe or reset first; new connections are refused.
		var err error
		for i := 0; i < 3; i++ {
			if err = put("b"); err == nil || errors.Is(err, syscall.ECONNREFUSED) {
				break
			}
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("refused: err = %v", err)
		}
		sp.Set(Faults{Outage: Unavailable})
		var re interface{ HTTPStatusCode() int }
		if err := put("b"); !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
			t.Fatalf("unavailable: err = %v, want HTTP 503", err)
		}
		sp.Set(Faults{Ops: []string{"PutObject"}, ErrorRate: 1, Errors: []HTTPError{S3SlowDown}})
		var ae smithy.APIError
		if err := put("b"); !errors.As(err, &ae) || ae.ErrorCode() != "SlowDown" {
			t.Fatalf("slow down: err = %v", err)
		}
		sp.Clear()
		if err := put("b"); err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		if got := st.GetObject(t, ctx, "quarantine", "b"); string(got) != "body-b" {
			t.Fatalf("object b = %q", got)
		}
	})
}
