package processor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// putCall is what one PutRecords call carried, copied at call time.
type putCall struct {
	stream string
	data   []string
	keys   []string
}

// fakeKinesis records every PutRecords call. respond decides each call's outcome from the
// call number (0-based) and the entries' data; nil means every entry succeeds.
type fakeKinesis struct {
	mu      sync.Mutex
	calls   []putCall
	respond func(call int, data []string) (failed map[int]string, err error)
	seq     int
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := putCall{stream: *in.StreamName}
	for _, e := range in.Records {
		c.data = append(c.data, string(e.Data))
		c.keys = append(c.keys, *e.PartitionKey)
	}
	n := len(f.calls)
	f.calls = append(f.calls, c)
	var failed map[int]string
	if f.respond != nil {
		var err error
		if failed, err = f.respond(n, c.data); err != nil {
			return nil, err
		}
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: new(int32(len(failed)))}
	for i := range in.Records {
		if code, ok := failed[i]; ok {
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: &code, ErrorMessage: new("rate exceeded for shard")})
			continue
		}
		f.seq++
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: new(strconv.Itoa(f.seq)), ShardId: new("shardId-000000000000")})
	}
	return out, nil
}

func (f *fakeKinesis) recorded() []putCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]putCall(nil), f.calls...)
}

func smallRecords(n int) []CuratedRecord {
	recs := make([]CuratedRecord, n)
	for i := range recs {
		recs[i] = CuratedRecord{Data: []byte("r" + strconv.Itoa(i)), PartitionKey: "k" + strconv.Itoa(i%7)}
	}
	return recs
}

func names(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, "r"+strconv.Itoa(i))
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func instant() SinkOption {
	return WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() })
}

func TestKinesisSinkSplitsAt500Records(t *testing.T) {
	fk := &fakeKinesis{}
	m := newTestMetrics()
	recs := smallRecords(1201)
	if err := NewKinesisSink(fk, m, instant()).Put(context.Background(), "curated", recs); err != nil {
		t.Fatal(err)
	}
	calls := fk.recorded()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3", len(calls))
	}
	bounds := [][2]int{{0, 500}, {500, 1000}, {1000, 1201}}
	for i, b := range bounds {
		if !equalStrings(calls[i].data, names(b[0], b[1])) {
			t.Errorf("call %d carried %d records %v..., want r%d..r%d", i, len(calls[i].data), calls[i].data[:2], b[0], b[1]-1)
		}
		if calls[i].stream != "curated" {
			t.Errorf("call %d to stream %q", i, calls[i].stream)
		}
		for j, k := range calls[i].keys {
			if want := recs[b[0]+j].PartitionKey; k != want {
				t.Fatalf("call %d entry %d key %q, want %q", i, j, k, want)
			}
		}
	}
	if got := counter(t, m.SinkRequests, "kinesis", "ok"); got != 3 {
		t.Errorf("sink requests ok = %v, want 3", got)
	}
	if got := histCount(t, m.SinkDuration, "kinesis"); got != 3 {
		t.Errorf("duration samples = %d, want 3", got)
	}
}

func TestKinesisSinkSplitsAt5MiB(t *testing.T) {
	mk := func(n, dataLen int) []CuratedRecord {
		recs := make([]CuratedRecord, n)
		for i := range recs {
			data := bytes.Repeat([]byte{'a' + byte(i%26)}, dataLen)
			recs[i] = CuratedRecord{Data: data, PartitionKey: "k"}
		}
		return recs
	}
	tests := []struct {
		name      string
		recs      []CuratedRecord
		wantSizes []int
	}{
		// 5 records of exactly 1 MiB (data + 1-byte key) are exactly 5 MiB: one call.
		{"exactly 5 MiB in one call", mk(6, MaxRecordBytes-1), []int{5, 1}},
		// 1,000,001 bytes each: five fit (5,000,005), the sixth would pass 5,242,880.
		{"key bytes count", mk(12, 1_000_000), []int{5, 5, 2}},
		// 5 MiB / 10 KiB = 512 records, but the 500-record cap comes first.
		{"count cap before size cap", mk(520, 10<<10-1), []int{500, 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fk := &fakeKinesis{}
			if err := NewKinesisSink(fk, nil, instant()).Put(context.Background(), "s", tt.recs); err != nil {
				t.Fatal(err)
			}
			calls := fk.recorded()
			var sizes []int
			next := 0
			for _, c := range calls {
				sizes = append(sizes, len(c.data))
				total := 0
				for j, d := range c.data {
					total += len(d) + len(c.keys[j])
					if d != string(tt.recs[next].Data) {
						t.Fatalf("record order broken at %d", next)
					}
					next++
				}
				if total > MaxBytesPerCall {
					t.Errorf("call of %d bytes exceeds %d", total, MaxBytesPerCall)
				}
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantSizes) {
				t.Errorf("call sizes %v, want %v", sizes, tt.wantSizes)
			}
		})
	}
}

func TestCheckCurated(t *testing.T) {
	tests := []struct {
		name string
		rec  CuratedRecord
		want error
	}{
		{"fits exactly", CuratedRecord{Data: make([]byte, MaxRecordBytes-3), PartitionKey: "abc"}, nil},
		{"one byte over counting the key", CuratedRecord{Data: make([]byte, MaxRecordBytes-2), PartitionKey: "abc"}, ErrRecordTooLarge},
		{"empty key", CuratedRecord{Data: []byte("{}")}, ErrInvalidPartitionKey},
		{"256 characters of 3 bytes", CuratedRecord{Data: []byte("{}"), PartitionKey: strings.Repeat("€", 256)}, nil},
		{"257 characters", CuratedRecord{Data: []byte("{}"), PartitionKey: strings.Repeat("a", 257)}, ErrInvalidPartitionKey},
		{"invalid utf-8 key", CuratedRecord{Data: []byte("{}"), PartitionKey: "a\xff"}, ErrInvalidPartitionKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCurated(tt.rec)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("CheckCurated = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestKinesisSinkRefusesUnsendableRecordsWithoutSending(t *testing.T) {
	fk := &fakeKinesis{}
	recs := smallRecords(3)
	recs[2].Data = make([]byte, MaxRecordBytes)
	err := NewKinesisSink(fk, nil, instant()).Put(context.Background(), "s", recs)
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("Put = %v, want ErrRecordTooLarge naming record 2", err)
	}
	if n := len(fk.recorded()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestKinesisSinkRetriesOnlyFailedEntriesInOrder(t *testing.T) {
	const throttled = "ProvisionedThroughputExceededException"
	fk := &fakeKinesis{respond: func(call int, data []string) (map[int]string, error) {
		switch call {
		case 0: // first chunk r0..r499: four entries fail
			return map[int]string{3: throttled, 7: "InternalFailure", 250: throttled, 499: throttled}, nil
		case 1: // their retry [r3 r7 r250 r499]: r250 fails again
			return map[int]string{2: throttled}, nil
		}
		return nil, nil
	}}
	m := newTestMetrics()
	sr := &sleepRecorder{}
	err := NewKinesisSink(fk, m, WithSleep(sr.sleep), WithBackoff(Backoff{Initial: time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.5 }})).
		Put(context.Background(), "curated", smallRecords(600))
	if err != nil {
		t.Fatal(err)
	}
	calls := fk.recorded()
	want := [][]string{
		names(0, 500),
		{"r3", "r7", "r250", "r499"},
		{"r250"},
		names(500, 600), // the second chunk only after the first was fully acknowledged
	}
	if len(calls) != len(want) {
		t.Fatalf("%d calls, want %d", len(calls), len(want))
	}
	for i := range want {
		if !equalStrings(calls[i].data, want[i]) {
			t.Errorf("call %d sent %v, want %v", i, abbreviate(calls[i].data), abbreviate(want[i]))
		}
	}
	if calls[1].keys[0] != "k3" || calls[1].keys[3] != "k2" { // 499 % 7 == 2
		t.Errorf("retried entries lost their keys: %v", calls[1].keys)
	}
	if got := counter(t, m.SinkFailedEntries, "kinesis"); got != 5 {
		t.Errorf("failed entries = %v, want 5", got)
	}
	if got := counter(t, m.SinkRetries, "kinesis"); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
	if w := sr.recorded(); len(w) != 2 || w[0] != 500*time.Microsecond || w[1] != time.Millisecond {
		t.Errorf("waits = %v, want [500µs 1ms] (half of ceilings 1ms, 2ms)", w)
	}
}

func abbreviate(s []string) string {
	if len(s) > 6 {
		return fmt.Sprintf("%v ... %v (%d)", s[:3], s[len(s)-3:], len(s))
	}
	return fmt.Sprint(s)
}

func TestKinesisSinkThrottlingBacksOffExponentiallyToCap(t *testing.T) {
	fk := &fakeKinesis{respond: func(call int, _ []string) (map[int]string, error) {
		if call < 6 {
			return nil, fmt.Errorf("operation error Kinesis: PutRecords: %w", apiErr("ProvisionedThroughputExceededException"))
		}
		return nil, nil
	}}
	m := newTestMetrics()
	sr := &sleepRecorder{}
	sink := NewKinesisSink(fk, m, WithSleep(sr.sleep),
		WithBackoff(Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.999999 }}))
	if err := sink.Put(context.Background(), "s", smallRecords(3)); err != nil {
		t.Fatal(err)
	}
	waits := sr.recorded()
	ceilings := []time.Duration{100, 200, 400, 800, 1000, 1000}
	if len(waits) != len(ceilings) {
		t.Fatalf("waits %v, want %d", waits, len(ceilings))
	}
	for i, c := range ceilings {
		c *= time.Millisecond
		if waits[i] > c || waits[i] < c*99/100 {
			t.Errorf("wait %d = %v, want just under %v", i, waits[i], c)
		}
	}
	if len(fk.recorded()) != 7 {
		t.Errorf("%d calls, want 7", len(fk.recorded()))
	}
	if got := counter(t, m.SinkRequests, "kinesis", "error"); got != 6 {
		t.Errorf("error requests = %v, want 6", got)
	}
	if got := counter(t, m.SinkRetries, "kinesis"); got != 6 {
		t.Errorf("retries = %v, want 6", got)
	}
}

func TestKinesisSinkKeepsRetryingPermanentErrorsAndLogsThem(t *testing.T) {
	fk := &fakeKinesis{respond: func(call int, _ []string) (map[int]string, error) {
		if call < 3 {
			return nil, apiErr("ResourceNotFoundException")
		}
		return nil, nil
	}}
	var logs bytes.Buffer
	sr := &sleepRecorder{}
	b := Backoff{Initial: time.Millisecond, Max: 8 * time.Second}
	sink := NewKinesisSink(fk, nil, WithSleep(sr.sleep), WithBackoff(b),
		WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err := sink.Put(context.Background(), "missing", smallRecords(2)); err != nil {
		t.Fatal(err)
	}
	for _, w := range sr.recorded() {
		if w < 4*time.Second || w >= 8*time.Second {
			t.Errorf("permanent-failure wait %v outside [Max/2, Max)", w)
		}
	}
	if n := strings.Count(logs.String(), `"level":"ERROR"`); n != 3 {
		t.Errorf("%d error-level log lines, want 3:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "ResourceNotFoundException") || !strings.Contains(logs.String(), `"stream":"missing"`) {
		t.Errorf("log lacks the cause or the stream:\n%s", logs.String())
	}
}

func TestKinesisSinkCancelDuringRetriesReturnsError(t *testing.T) {
	const throttled = "ProvisionedThroughputExceededException"
	tests := []struct {
		name    string
		respond func(int, []string) (map[int]string, error)
		pending string
	}{
		{"whole calls throttled", func(int, []string) (map[int]string, error) { return nil, apiErr(throttled) }, "1000 of 1000"},
		{"one entry always failing", func(call int, data []string) (map[int]string, error) {
			if data[0] == "r0" {
				return map[int]string{0: throttled}, nil
			}
			return nil, nil
		}, "501 of 1000"},
		{"second chunk failing", func(call int, data []string) (map[int]string, error) {
			if data[0] == "r500" {
				return nil, apiErr(throttled)
			}
			return nil, nil
		}, "500 of 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sr := &sleepRecorder{cancelAt: 3, cancel: cancel}
			fk := &fakeKinesis{respond: tt.respond}
			err := NewKinesisSink(fk, nil, WithSleep(sr.sleep)).Put(ctx, "s", smallRecords(1000))
			if err == nil {
				t.Fatal("Put succeeded after cancellation with records unacknowledged")
			}
			if !errors.Is(err, ErrUnacknowledged) || !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap ErrUnacknowledged and context.Canceled", err)
			}
			if !strings.Contains(err.Error(), tt.pending+" records pending") {
				t.Errorf("error %q does not say %q pending", err, tt.pending)
			}
		})
	}
}

// ctxAwareKinesis fails like the SDK does once ctx has ended, and throttles before.
type ctxAwareKinesis struct{ calls int }

func (c *ctxAwareKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.calls++
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("operation error Kinesis: PutRecords: %w", err)
	}
	return nil, apiErr("ProvisionedThroughputExceededException")
}

func TestKinesisSinkDeadlineWithRealSleep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c := &ctxAwareKinesis{}
	began := time.Now()
	err := NewKinesisSink(c, nil, WithBackoff(Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond})).
		Put(ctx, "s", smallRecords(1))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnacknowledged) {
		t.Fatalf("Put = %v, want unacknowledged deadline", err)
	}
	if !strings.Contains(err.Error(), "ProvisionedThroughputExceededException") {
		t.Errorf("error %q does not name the failure that kept the sink retrying", err)
	}
	if el := time.Since(began); el > 3*time.Second {
		t.Errorf("Put took %v after a 200ms deadline", el)
	}
	if c.calls < 2 {
		t.Errorf("only %d call in 200ms with ≤5ms waits: no retry", c.calls)
	}
}

func TestKinesisSinkResendsAllWhenResultsDoNotMatchEntries(t *testing.T) {
	calls := 0
	var sent [][]string
	client := kinesisFunc(func(ctx context.Context, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		calls++
		var d []string
		for _, e := range in.Records {
			d = append(d, string(e.Data))
		}
		sent = append(sent, d)
		out := &kinesis.PutRecordsOutput{FailedRecordCount: new(int32(0))}
		n := len(in.Records)
		if calls == 1 {
			n-- // a broken proxy dropped a result
		}
		for i := 0; i < n; i++ {
			out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: new("1")})
		}
		return out, nil
	})
	if err := NewKinesisSink(client, nil, instant()).Put(context.Background(), "s", smallRecords(4)); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || !equalStrings(sent[1], names(0, 4)) {
		t.Errorf("sent %v, want all four records twice", sent)
	}
}

// An entry without error code but also without sequence number is not acknowledged.
func TestKinesisSinkTreatsMissingSequenceNumberAsFailure(t *testing.T) {
	var sent [][]string
	client := kinesisFunc(func(ctx context.Context, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error) {
		var d []string
		out := &kinesis.PutRecordsOutput{FailedRecordCount: new(int32(0))}
		for i, e := range in.Records {
			d = append(d, string(e.Data))
			if len(sent) == 0 && i == 1 {
				out.Records = append(out.Records, types.PutRecordsResultEntry{})
				continue
			}
			out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: new("1")})
		}
		sent = append(sent, d)
		return out, nil
	})
	if err := NewKinesisSink(client, nil, instant()).Put(context.Background(), "s", smallRecords(3)); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || !equalStrings(sent[1], []string{"r1"}) {
		t.Errorf("sent %v, want r1 resent alone", sent)
	}
}

type kinesisFunc func(ctx context.Context, in *kinesis.PutRecordsInput) (*kinesis.PutRecordsOutput, error)

func (f kinesisFunc) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return f(ctx, in)
}

func TestKinesisSinkConcurrentPuts(t *testing.T) {
	fk := &fakeKinesis{respond: func(call int, data []string) (map[int]string, error) {
		if call%3 == 0 {
			return map[int]string{0: "ProvisionedThroughputExceededException"}, nil
		}
		return nil, nil
	}}
	sink := NewKinesisSink(fk, nil, instant())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			if err := sink.Put(context.Background(), "s"+strconv.Itoa(g), smallRecords(700)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := map[string]map[string]int{}
	for _, c := range fk.recorded() {
		if got[c.stream] == nil {
			got[c.stream] = map[string]int{}
		}
		for _, d := range c.data {
			got[c.stream][d]++
		}
	}
	for g := 0; g < 8; g++ {
		if n := len(got["s"+strconv.Itoa(g)]); n != 700 {
			t.Errorf("stream s%d received %d distinct records, want 700", g, n)
		}
	}
}
