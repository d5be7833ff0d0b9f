package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/quarantine"
)

// memS3 records PutObject calls; it fails while err is set and blocks while block is set.
type memS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	err     error
	block   chan struct{}
}

func (m *memS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	body, _ := io.ReadAll(in.Body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	if m.objects == nil {
		m.objects = map[string][]byte{}
	}
	m.objects[aws.ToString(in.Key)] = body
	return &s3.PutObjectOutput{}, nil
}

func (m *memS3) samples(t *testing.T) map[string][]quarantine.ShadowSample {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]quarantine.ShadowSample{}
	for k, body := range m.objects {
		s, err := quarantine.DecodeShadow(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = s
	}
	return out
}

func newShadowFixture(t *testing.T, s3c *memS3, perObject int) (*pipelineFixture, *ShadowSampler) {
	t.Helper()
	m := newTestMetrics()
	sampler, err := NewShadowSampler(ShadowConfig{S3: s3c, Bucket: "q", Prefix: "quarantine", Worker: "worker-a",
		Interval: time.Hour, PerObject: perObject, WriteTimeout: 200 * time.Millisecond, Metrics: m,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sampler.Close(context.Background()) })
	f := newFixture(t, "shadow-pii", func(c *PipelineConfig) { c.Shadow = sampler; c.Metrics = m })
	f.m = m
	return f, sampler
}

const (
	goodOrder = `{"customer_id":"C1","email":"anna@example.com","phone":"+4930123","card":"4111111111111111","total":10}`
	bigTotal  = `{"customer_id":"C2","email":"bert@example.com","phone":"+4930999","card":"4222222222222222","total":5000}`
	badEmail  = `{"customer_id":"C3","email":"not-an-email","phone":null,"total":20}`
	bothFail  = `{"customer_id":"C4","email":"x@example.com","total":-1}`
	sampleKey = "quarantine/_shadow/orders/dt=2025-06-01/worker-a-20250601T120000.000000000Z.ndjson.gz"
)

func TestShadowSamplesAreMaskedAndLeaveRoutingAlone(t *testing.T) {
	s3c := &memS3{}
	f, sampler := newShadowFixture(t, s3c, 100)
	if err := f.p.Process(context.Background(), f.batch(goodOrder, bigTotal, badEmail, bothFail)); err != nil {
		t.Fatal(err)
	}
	// Routing is the active contract's: goodOrder and bigTotal to curated, badEmail and bothFail to quarantine.
	if puts := f.cur.all(); len(puts) != 1 || len(puts[0].recs) != 2 {
		t.Fatalf("curated %+v", puts)
	}
	if _, qs := f.onlyObject(t); len(qs) != 2 {
		t.Fatalf("quarantined %d", len(qs))
	}
	if len(s3c.samples(t)) != 0 {
		t.Fatal("samples written before the interval ended")
	}
	sampler.Close(context.Background())

	objs := s3c.samples(t)
	samples, ok := objs[sampleKey]
	if len(objs) != 1 || !ok {
		t.Fatalf("objects %v, want %s", keysOf(objs), sampleKey)
	}
	if len(samples) != 2 {
		t.Fatalf("%d samples, want the two diverging events", len(samples))
	}
	bySeq := map[string]quarantine.ShadowSample{}
	for _, s := range samples {
		bySeq[s.SequenceNumber] = s
	}
	wq := bySeq["49600000000000000000000001"]
	if wq.Direction != "would_quarantine" || fmt.Sprint(wq.Rules) != "[total_below_1000]" ||
		wq.Active.Outcome != "passed" || wq.Shadow.Outcome != "quarantined" || wq.Active.Version != "1.2.0" ||
		wq.Shadow.Version != "1.3.0-rc.1" || wq.Stream != "orders-raw" || wq.Shard != "shardId-000000000003" ||
		wq.Worker != "worker-a" || !wq.ArrivalTime.Equal(arrival(1)) || !wq.JudgedAt.Equal(testNow) {
		t.Errorf("would_quarantine sample %+v", wq)
	}
	wp := bySeq["49600000000000000000000002"]
	if wp.Direction != "would_pass" || fmt.Sprint(wp.Rules) != "[email_valid]" || wp.Active.Failures[0].Rule != "email_valid" {
		t.Errorf("would_pass sample %+v", wp)
	}
	// PII: email hashed (both contracts), phone hashed (shadow only), card redacted (active only);
	// no offending values in the failures.
	all := string(wq.Event) + string(wp.Event)
	for _, secret := range []string{"bert@example.com", "+4930999", "4222222222222222", "not-an-email"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q leaked into a shadow sample: %s", secret, all)
		}
	}
	if !strings.Contains(string(wq.Event), `"card":"[REDACTED]"`) || !strings.Contains(string(wq.Event), `"total":5000`) ||
		!strings.Contains(string(wp.Event), `"phone":null`) {
		t.Errorf("masked events:\n%s\n%s", wq.Event, wp.Event)
	}
	for _, fl := range wp.Active.Failures {
		if fl.Value != "" || fl.Error != "" {
			t.Errorf("failure carries a value: %+v", fl)
		}
	}
	if got := counter(t, f.m.ShadowSamples, "orders", metrics.ShadowWritten); got != 2 {
		t.Errorf("samples written = %v", got)
	}
	if got := counter(t, f.m.ShadowDivergences, "orders", "total_below_1000", "would_quarantine"); got != 1 {
		t.Errorf("divergences = %v", got)
	}
}

func TestShadowSamplesAreBounded(t *testing.T) {
	s3c := &memS3{}
	f, sampler := newShadowFixture(t, s3c, 7)
	for i := 0; i < 20; i++ {
		payloads := make([]string, 15) // 15 divergences per batch, of which 10 are sampled
		for j := range payloads {
			payloads[j] = strings.Replace(bigTotal, `"customer_id":"C2"`, fmt.Sprintf(`"customer_id":"C%d"`, i*100+j), 1)
		}
		if err := f.p.Process(context.Background(), f.batch(payloads...)); err != nil {
			t.Fatal(err)
		}
		if n := len(f.p.samples); n != 0 {
			t.Fatalf("pipeline keeps %d samples after the batch", n)
		}
	}
	sampler.mu.Lock()
	r := sampler.pending["orders"]
	seen, held := r.seen, len(r.samples)
	sampler.mu.Unlock()
	if seen != 20*ShadowSamplesPerBatch || held != 7 {
		t.Errorf("reservoir saw %d and holds %d, want %d and 7", seen, held, 20*ShadowSamplesPerBatch)
	}
	sampler.Close(context.Background())
	objs := s3c.samples(t)
	if len(objs) != 1 || len(objs[sampleKey]) != 7 {
		t.Fatalf("objects %v", keysOf(objs))
	}
	if got := counter(t, f.m.ShadowDivergences, "orders", "total_below_1000", "would_quarantine"); got != 300 {
		t.Errorf("divergences = %v, want every one counted", got)
	}
}

func TestShadowWriteFailureIsDroppedNotBlocking(t *testing.T) {
	s3c := &memS3{err: errors.New("AccessDenied"), block: make(chan struct{})}
	f, sampler := newShadowFixture(t, s3c, 100)
	began := time.Now()
	if err := f.p.Process(context.Background(), f.batch(goodOrder, bigTotal)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Process took %v while the shadow bucket hangs", d)
	}
	// Close gives up after the write timeout, counts and drops the samples.
	began = time.Now()
	sampler.Close(context.Background())
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if got := counter(t, f.m.ShadowSamples, "orders", metrics.ShadowFailed); got != 1 {
		t.Errorf("samples failed = %v", got)
	}
	close(s3c.block)
	// Offers after Close are dropped.
	sampler.Offer([]quarantine.ShadowSample{{Domain: "orders"}})
	if len(sampler.pending) != 0 {
		t.Error("a closed sampler kept a sample")
	}
}

func TestShadowSamplesOnlyFromAcknowledgedBatches(t *testing.T) {
	s3c := &memS3{}
	f, sampler := newShadowFixture(t, s3c, 100)
	f.cur.err = errors.New("curated stream down")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.p.Process(ctx, f.batch(bigTotal)); err == nil {
		t.Fatal("Process succeeded with the curated sink down")
	}
	f.cur.err = nil
	if err := f.p.Process(context.Background(), f.batch(bigTotal)); err != nil { // the retry of the same batch
		t.Fatal(err)
	}
	sampler.Close(context.Background())
	if objs := s3c.samples(t); len(objs[sampleKey]) != 1 {
		t.Errorf("want the retried batch's sample once, got %v", objs)
	}
}

func keysOf[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
