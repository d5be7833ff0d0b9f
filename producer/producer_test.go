package producer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fakeKinesis is a PutRecords service behind API. It stores every entry it accepts once,
// assigns shard "shardId-<len(key) mod 2>" and increasing sequence numbers, and can be told
// to fail chosen entries, whole calls, or answer with too few results.
type fakeKinesis struct {
	mu sync.Mutex

	// Script, set before Put.
	failEntry map[string]int   // entry data -> how many more times to fail it (-1: always)
	failCall  map[int]error    // call number -> error the whole call returns
	down      error            // if set, every call returns it
	short     map[int]bool     // call number -> answer with one result too few, store nothing
	onCall    func(callNo int) // called at the start of every call

	// What happened.
	streams []string   // StreamName per call
	calls   [][]string // entry data per call, in request order
	bytes   []int      // data plus key bytes per call
	acked   map[string]Result
	seq     int
}

func (f *fakeKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.calls)
	if f.onCall != nil {
		f.onCall(n)
	}
	data := make([]string, len(in.Records))
	size := 0
	for i, e := range in.Records {
		data[i] = string(e.Data)
		size += len(e.Data) + len(aws.ToString(e.PartitionKey))
	}
	f.streams = append(f.streams, aws.ToString(in.StreamName))
	f.calls = append(f.calls, data)
	f.bytes = append(f.bytes, size)
	if err := ctx.Err(); err != nil { // the SDK does not send on a finished context
		return nil, fmt.Errorf("operation error Kinesis: PutRecords: %w", err)
	}
	if f.down != nil {
		return nil, f.down
	}
	if err := f.failCall[n]; err != nil {
		return nil, err
	}
	out := &kinesis.PutRecordsOutput{}
	if f.short[n] {
		out.Records = make([]types.PutRecordsResultEntry, len(in.Records)-1)
		return out, nil
	}
	if f.acked == nil {
		f.acked = map[string]Result{}
	}
	for _, e := range in.Records {
		d := string(e.Data)
		if left := f.failEntry[d]; left != 0 {
			if left > 0 {
				f.failEntry[d] = left - 1
			}
			out.FailedRecordCount = aws.Int32(aws.ToInt32(out.FailedRecordCount) + 1)
			out.Records = append(out.Records, types.PutRecordsResultEntry{
				ErrorCode:    aws.String("ProvisionedThroughputExceededException"),
				ErrorMessage: aws.String("Rate exceeded for shard"),
			})
			continue
		}
		if _, dup := f.acked[d]; dup {
			return nil, fmt.Errorf("fake: entry %q sent again after it was acknowledged", d)
		}
		f.seq++
		r := Result{
			Shard:          fmt.Sprintf("shardId-%012d", len(aws.ToString(e.PartitionKey))%2),
			SequenceNumber: fmt.Sprintf("%056d", f.seq),
		}
		f.acked[d] = r
		out.Records = append(out.Records, types.PutRecordsResultEntry{ShardId: aws.String(r.Shard), SequenceNumber: aws.String(r.SequenceNumber)})
	}
	return out, nil
}

// entries returns n entries with data "e<i>" and key "k<i mod 3>".
func entries(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = Entry{Data: []byte(fmt.Sprint("e", i)), PartitionKey: fmt.Sprint("k", i%3)}
	}
	return out
}

// sized returns an entry whose data plus key is exactly total bytes.
func sized(name string, total int) Entry {
	key := "key-" + name
	data := append([]byte(name+"-"), bytes.Repeat([]byte("x"), total-len(key)-len(name)-1)...)
	return Entry{Data: data, PartitionKey: key}
}

// names returns the data of entries[i] for every i of idx.
func names(es []Entry, idx ...int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = string(es[i].Data)
	}
	return out
}

func span(from, to int) []int { // from..to inclusive
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func callSizes(calls [][]string) []int {
	var out []int
	for _, c := range calls {
		out = append(out, len(c))
	}
	return out
}

// checkAcked checks that every entry has the Result the service acknowledged for it.
func checkAcked(t *testing.T, f *fakeKinesis, es []Entry, res []Result) {
	t.Helper()
	if len(res) != len(es) {
		t.Fatalf("%d results for %d entries", len(res), len(es))
	}
	for i, e := range es {
		want, ok := f.acked[string(e.Data)]
		if !ok {
			t.Errorf("entry %d (%.20q) never acknowledged", i, e.Data)
			continue
		}
		if res[i] != want {
			t.Errorf("entry %d: result %+v, service acknowledged %+v", i, res[i], want)
		}
	}
	if len(f.acked) != len(es) {
		t.Errorf("service stored %d records, want %d", len(f.acked), len(es))
	}
}

func TestPutSplitsRequests(t *testing.T) {
	const MiB = 1 << 20
	repeat := func(n int, mk func(i int) Entry) []Entry {
		out := make([]Entry, n)
		for i := range out {
			out[i] = mk(i)
		}
		return out
	}
	tests := []struct {
		name      string
		entries   []Entry
		wantCalls []int // entries per call
	}{
		{name: "no entries", entries: nil, wantCalls: nil},
		{name: "one", entries: entries(1), wantCalls: []int{1}},
		{name: "exactly 500", entries: entries(500), wantCalls: []int{500}},
		{name: "501", entries: entries(501), wantCalls: []int{500, 1}},
		{name: "1200", entries: entries(1200), wantCalls: []int{500, 500, 200}},
		{name: "six records of exactly 1 MiB: five fill 5 MiB",
			entries:   repeat(6, func(i int) Entry { return sized(fmt.Sprint("m", i), MiB) }),
			wantCalls: []int{5, 1}},
		{name: "ten records of 600 KiB",
			entries:   repeat(10, func(i int) Entry { return sized(fmt.Sprint("m", i), 600<<10) }),
			wantCalls: []int{8, 2}},
		{name: "bytes bind before the count",
			entries: append(entries(300), repeat(5, func(i int) Entry { return sized(fmt.Sprint("m", i), MiB) })...),
			// 300 small records and four of 1 MiB fit; the fifth would pass 5 MiB.
			wantCalls: []int{304, 1}},
		{name: "partition keys count toward the 5 MiB",
			// Five records 100 bytes short of 1 MiB, then one of 400 data bytes and a 200-byte
			// key: the data alone would fit in the first call, data plus keys do not.
			entries: append(repeat(5, func(i int) Entry { return sized(fmt.Sprint("m", i), MiB-100) }),
				Entry{Data: bytes.Repeat([]byte("d"), 400), PartitionKey: strings.Repeat("k", 200)}),
			wantCalls: []int{5, 1}},
		{name: "count binds before the bytes",
			entries:   append(entries(499), repeat(3, func(i int) Entry { return sized(fmt.Sprint("m", i), MiB) })...),
			wantCalls: []int{500, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeKinesis{}
			res, err := Put(context.Background(), f, "orders-raw", tt.entries)
			if err != nil {
				t.Fatal(err)
			}
			if got := callSizes(f.calls); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("entries per call %v, want %v", got, tt.wantCalls)
			}
			var sent []string
			for i, c := range f.calls {
				if f.bytes[i] > MaxRequestBytes || len(c) > MaxRequestRecord {
					t.Errorf("call %d: %d entries, %d bytes: over the limits", i, len(c), f.bytes[i])
				}
				if f.streams[i] != "orders-raw" {
					t.Errorf("call %d went to stream %q", i, f.streams[i])
				}
				sent = append(sent, c...)
			}
			if want := names(tt.entries, span(0, len(tt.entries)-1)...); len(want) > 0 && !reflect.DeepEqual(sent, want) {
				t.Errorf("entries were not sent once each in entry order")
			}
			checkAcked(t, f, tt.entries, res)
		})
	}
	t.Run("five records of exactly 1 MiB are one full call", func(t *testing.T) {
		f := &fakeKinesis{}
		var es []Entry
		for i := 0; i < 5; i++ {
			es = append(es, sized(fmt.Sprint("m", i), MiB))
		}
		if _, err := Put(context.Background(), f, "s", es); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f.bytes, []int{MaxRequestBytes}) {
			t.Errorf("bytes per call %v, want [%d]", f.bytes, MaxRequestBytes)
		}
	})
}

func TestPutRetriesOnlyFailedEntries(t *testing.T) {
	boom := errors.New("InternalFailure: service unavailable")
	tests := []struct {
		name      string
		n         int
		failEntry map[string]int
		failCall  map[int]error
		short     map[int]bool
		wantCalls [][]int // entry indexes per call
	}{
		{
			name: "three entries of the first call fail once",
			n:    1000, failEntry: map[string]int{"e3": 1, "e7": 1, "e450": 1},
			// The failed entries go first, in entry order, then the entries not yet sent fill the call.
			wantCalls: [][]int{span(0, 499), append([]int{3, 7, 450}, span(500, 996)...), span(997, 999)},
		},
		{
			name: "an entry failing three times is retried alone",
			n:    3, failEntry: map[string]int{"e1": 3},
			wantCalls: [][]int{{0, 1, 2}, {1}, {1}, {1}},
		},
		{
			name: "every entry fails once",
			n:    4, failEntry: map[string]int{"e0": 1, "e1": 1, "e2": 1, "e3": 1},
			wantCalls: [][]int{{0, 1, 2, 3}, {0, 1, 2, 3}},
		},
		{
			name: "failures in the second call",
			n:    510, failEntry: map[string]int{"e501": 1, "e509": 2},
			wantCalls: [][]int{span(0, 499), span(500, 509), {501, 509}, {509}},
		},
		{
			name: "a failed call is sent again whole",
			n:    3, failCall: map[int]error{0: boom, 1: boom},
			wantCalls: [][]int{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}},
		},
		{
			name: "an answer with too few results is sent again whole",
			n:    3, short: map[int]bool{0: true},
			wantCalls: [][]int{{0, 1, 2}, {0, 1, 2}},
		},
		{
			name: "entry failures after a failed call",
			n:    3, failCall: map[int]error{0: boom}, failEntry: map[string]int{"e2": 1},
			wantCalls: [][]int{{0, 1, 2}, {0, 1, 2}, {2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries(tt.n)
			f := &fakeKinesis{failEntry: tt.failEntry, failCall: tt.failCall, short: tt.short}
			res, err := Put(context.Background(), f, "s", es)
			if err != nil {
				t.Fatal(err)
			}
			var want [][]string
			for _, idx := range tt.wantCalls {
				want = append(want, names(es, idx...))
			}
			if !reflect.DeepEqual(f.calls, want) {
				t.Errorf("calls (entries per call %v):\n%v\nwant (entries per call %v):\n%v",
					callSizes(f.calls), abbrev(f.calls), callSizes(want), abbrev(want))
			}
			checkAcked(t, f, es, res)
		})
	}
}

// abbrev shortens long calls for error messages.
func abbrev(calls [][]string) string {
	var sb strings.Builder
	for _, c := range calls {
		if len(c) > 8 {
			fmt.Fprintf(&sb, "  %v ... %v\n", c[:4], c[len(c)-4:])
		} else {
			fmt.Fprintf(&sb, "  %v\n", c)
		}
	}
	return sb.String()
}

func TestPutRefusesRecordsKinesisWouldReject(t *testing.T) {
	tests := []struct {
		name    string
		entry   Entry
		wantErr error // nil: sent
	}{
		{name: "data plus key exactly 1 MiB", entry: sized("max", MaxRecordBytes)},
		{name: "data plus key one byte over 1 MiB", entry: sized("over", MaxRecordBytes+1), wantErr: ErrTooLarge},
		{name: "data alone 1 MiB", entry: Entry{Data: bytes.Repeat([]byte("d"), MaxRecordBytes), PartitionKey: "k"}, wantErr: ErrTooLarge},
		{name: "empty key", entry: Entry{Data: []byte("no key")}, wantErr: ErrInvalidPartitionKey},
		{name: "key of 256 characters", entry: Entry{Data: []byte("k256"), PartitionKey: strings.Repeat("k", 256)}},
		{name: "key of 257 characters", entry: Entry{Data: []byte("k257"), PartitionKey: strings.Repeat("k", 257)}, wantErr: ErrInvalidPartitionKey},
		{name: "key of 256 two-byte characters", entry: Entry{Data: []byte("k256é"), PartitionKey: strings.Repeat("é", 256)}},
		{name: "key not UTF-8", entry: Entry{Data: []byte("latin1"), PartitionKey: "M\xfcller"}, wantErr: ErrInvalidPartitionKey},
		{name: "too large and no key: the key is reported", entry: Entry{Data: bytes.Repeat([]byte("d"), MaxRecordBytes+1)}, wantErr: ErrInvalidPartitionKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The entry sits between two good ones, which must be sent either way.
			es := []Entry{{Data: []byte("before"), PartitionKey: "a"}, tt.entry, {Data: []byte("after"), PartitionKey: "b"}}
			f := &fakeKinesis{}
			res, err := Put(context.Background(), f, "s", es)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 3 {
				t.Fatalf("%d results", len(res))
			}
			if res[0] != f.acked["before"] || res[2] != f.acked["after"] || res[0].SequenceNumber == "" || res[2].SequenceNumber == "" {
				t.Errorf("neighbours: %+v %+v", res[0], res[2])
			}
			_, sent := f.acked[string(tt.entry.Data)]
			if tt.wantErr == nil {
				if res[1].Err != nil || !sent || res[1] != f.acked[string(tt.entry.Data)] {
					t.Errorf("result %+v, sent %v: want it sent", res[1], sent)
				}
				if len(f.calls) != 1 || len(f.calls[0]) != 3 {
					t.Errorf("entries per call %v, want [3]", callSizes(f.calls))
				}
				return
			}
			if !errors.Is(res[1].Err, tt.wantErr) || res[1].Shard != "" || res[1].SequenceNumber != "" {
				t.Errorf("result %+v, want only Err %v", res[1], tt.wantErr)
			}
			if want := [][]string{{"before", "after"}}; !reflect.DeepEqual(f.calls, want) {
				t.Errorf("calls %v, want %v", abbrev(f.calls), want)
			}
		})
	}

	t.Run("nothing sendable: no call", func(t *testing.T) {
		f := &fakeKinesis{}
		res, err := Put(context.Background(), f, "s", []Entry{{Data: []byte("x")}, sized("big", MaxRecordBytes+10)})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 0 || !errors.Is(res[0].Err, ErrInvalidPartitionKey) || !errors.Is(res[1].Err, ErrTooLarge) {
			t.Errorf("calls %d, results %+v", len(f.calls), res)
		}
	})
}

// The results are the ledger `meshgate put --ledger` writes: for every entry, in entry
// order, the shard and sequence number under which the stream stored it.
func TestPutLedger(t *testing.T) {
	es := []Entry{
		{Data: []byte("a"), PartitionKey: "C0000001"}, // shard 0 (even key length)
		{Data: []byte("b"), PartitionKey: "C001"},     // shard 0
		{Data: []byte("c"), PartitionKey: "odd"},      // shard 1
		{Data: []byte("d"), PartitionKey: "C0000001"}, // fails once
		{Data: []byte("e"), PartitionKey: ""},         // refused
		{Data: []byte("f"), PartitionKey: "odd"},
	}
	f := &fakeKinesis{failEntry: map[string]int{"d": 1}}
	res, err := Put(context.Background(), f, "s", es)
	if err != nil {
		t.Fatal(err)
	}
	seq := func(n int) string { return fmt.Sprintf("%056d", n) }
	want := []Result{
		{Shard: "shardId-000000000000", SequenceNumber: seq(1)},
		{Shard: "shardId-000000000000", SequenceNumber: seq(2)},
		{Shard: "shardId-000000000001", SequenceNumber: seq(3)},
		// d was stored by the retry, after f.
		{Shard: "shardId-000000000000", SequenceNumber: seq(5)},
		{Err: ErrInvalidPartitionKey},
		{Shard: "shardId-000000000001", SequenceNumber: seq(4)},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("ledger:\n%+v\nwant\n%+v", res, want)
	}
}

func TestPutContextEnds(t *testing.T) {
	t.Run("cancelled before the first call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fakeKinesis{}
		res, err := Put(ctx, f, "orders-raw", entries(3))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if !strings.Contains(err.Error(), "put records to orders-raw") {
			t.Errorf("error %q does not name the stream", err)
		}
		if !reflect.DeepEqual(res, make([]Result, 3)) {
			t.Errorf("results %+v, want all empty", res)
		}
	})

	t.Run("cancelled while an entry keeps failing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := &fakeKinesis{failEntry: map[string]int{"e1": -1}, onCall: func(n int) {
			if n == 2 {
				cancel()
			}
		}}
		es := entries(3)
		res, err := Put(ctx, f, "s", es)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		// The acknowledged entries keep their ledger entries; the failing one has none.
		want := []Result{f.acked["e0"], {}, f.acked["e2"]}
		if !reflect.DeepEqual(res, want) || res[0].SequenceNumber == "" || res[2].SequenceNumber == "" {
			t.Errorf("results %+v, want %+v", res, want)
		}
		if got := callSizes(f.calls); len(got) < 2 || got[0] != 3 || got[1] != 1 {
			t.Errorf("entries per call %v, want [3 1 ...]", got)
		}
	})

	t.Run("deadline while the service is down", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		f := &fakeKinesis{down: errors.New("InternalFailure")}
		start := time.Now()
		_, err := Put(ctx, f, "s", entries(2))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Put returned %v after its deadline", d)
		}
		if len(f.calls) < 2 {
			t.Errorf("%d calls: the failed call was not retried", len(f.calls))
		}
	})
}
