package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/producer"
	"github.com/meshgate/meshgate/quarantine"
)

// synthetic builds a ledger of n good events (e0..) plus one hostile record, the curated
// records a correct worker would write for the good ones, and the quarantine line for the
// hostile one.
type synthetic struct {
	entries []Entry
	curated []Curated
	quar    []quarantine.Record
	hostile []byte
}

func event(i int, key string) []byte {
	return fmt.Appendf(nil, `{"event_id":"00000000-0000-4000-8000-%012d","customer_id":%q,"n":%d}`, i, key, i)
}

// enriched is what enrichment makes of event(i): other fields change, event_id stays.
func enriched(i int, key string) []byte {
	return fmt.Appendf(nil, `{"event_id":"00000000-0000-4000-8000-%012d","customer_id":%q,"n":%d,"_meta":{"contract":"x"}}`, i, key, i)
}

func newSynthetic(n int) *synthetic {
	s := &synthetic{hostile: []byte("{\"a\":1,\"a\":2}")}
	var l Ledger
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("k%d", i%3)
		data := event(i, key)
		l.Add(Entry{Stream: "raw", Shard: "shard-0", SequenceNumber: fmt.Sprintf("%04d", i), PartitionKey: key,
			Hash: HashPayload(data), Size: len(data), EventID: EventID(data), Kind: "good", Expect: gen.OutcomePassed})
		s.curated = append(s.curated, Curated{Shard: "c-0", SequenceNumber: fmt.Sprintf("c%04d", i), PartitionKey: key, Data: enriched(i, key)})
	}
	l.Add(Entry{Stream: "raw", Shard: "shard-1", SequenceNumber: "9000", PartitionKey: "h", Hash: HashPayload(s.hostile),
		Size: len(s.hostile), EventID: EventID(s.hostile), Kind: "duplicate_key", Expect: gen.OutcomeQuarantined, Decode: "duplicate_key"})
	s.quar = []quarantine.Record{{Payload: s.hostile, Reason: quarantine.ReasonDecode, Stream: "raw", Shard: "shard-1", SequenceNumber: "9000",
		Failures: []quarantine.Failure{{Rule: processor.FailureDecode, Value: "duplicate_key", Message: "key a repeated"}}}}
	s.entries = l.Entries()
	return s
}

func TestAuditAccountsForEveryRecord(t *testing.T) {
	s := newSynthetic(10)
	r := Audit(s.entries, s.curated, s.quar, Options{})
	if got := r.Problems(0); len(got) != 0 {
		t.Fatalf("clean run has problems: %v", got)
	}
	if r.Records != 11 || r.Curated != 10 || r.Quarantined != 1 || r.Duplicates() != 0 || len(r.Missing) != 0 {
		t.Fatalf("clean run: %s", r.Summary())
	}
	if order := CheckOrder(s.entries, s.curated, Options{}); len(order) != 0 {
		t.Fatalf("clean run out of order: %v", order)
	}
}

func TestAuditFindsViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *synthetic)
		check  func(t *testing.T, r *Report)
	}{
		{
			name:   "a curated record is missing",
			mutate: func(s *synthetic) { s.curated = append(s.curated[:4], s.curated[5:]...) },
			check: func(t *testing.T, r *Report) {
				if len(r.Missing) != 1 || r.Missing[0].SequenceNumber != "0004" {
					t.Errorf("missing = %v, want shard-0/0004", r.Missing)
				}
				if r.Curated != 9 {
					t.Errorf("curated = %d, want 9", r.Curated)
				}
			},
		},
		{
			name:   "the quarantined record is missing",
			mutate: func(s *synthetic) { s.quar = nil },
			check: func(t *testing.T, r *Report) {
				if len(r.Missing) != 1 || r.Missing[0].SequenceNumber != "9000" {
					t.Errorf("missing = %v, want shard-1/9000", r.Missing)
				}
			},
		},
		{
			name: "a record is curated and quarantined",
			mutate: func(s *synthetic) {
				data := event(3, "k0")
				s.quar = append(s.quar, quarantine.Record{Payload: data, Reason: quarantine.ReasonRules, Stream: "raw", Shard: "shard-0", SequenceNumber: "0003"})
			},
			check: func(t *testing.T, r *Report) {
				if len(r.Both) != 1 || r.Both[0].SequenceNumber != "0003" {
					t.Errorf("both = %v, want shard-0/0003", r.Both)
				}
				if len(r.WrongVerdict) != 1 {
					t.Errorf("a good event in quarantine is a wrong verdict too; got %v", r.WrongVerdict)
				}
			},
		},
		{
			name: "duplicates are counted per source shard",
			mutate: func(s *synthetic) {
				// A replay after a crash: records 5..7 written twice, record 6 three times,
				// and the hostile record quarantined again in a batch with other bounds.
				s.curated = append(s.curated, s.curated[5], s.curated[6], s.curated[7], s.curated[6])
				s.quar = append(s.quar, s.quar[0])
			},
			check: func(t *testing.T, r *Report) {
				if r.CuratedCopies != 4 || r.QuarantineCopies != 1 || r.Duplicates() != 5 {
					t.Errorf("copies: curated %d quarantine %d total %d, want 4, 1, 5", r.CuratedCopies, r.QuarantineCopies, r.Duplicates())
				}
				if r.DuplicatesByShard["shard-0"] != 4 || r.DuplicatesByShard["shard-1"] != 1 {
					t.Errorf("by shard = %v", r.DuplicatesByShard)
				}
				var dup []string
				for _, e := range r.Duplicated {
					dup = append(dup, e.SequenceNumber)
				}
				if strings.Join(dup, ",") != "0005,0006,0007,9000" {
					t.Errorf("duplicated entries %v, want 0005,0006,0007,9000", dup)
				}
				if len(r.Missing) != 0 || len(r.Both) != 0 || r.Curated != 10 {
					t.Errorf("duplicates must not change the accounting: %s", r.Summary())
				}
				if p := r.Problems(0); len(p) != 0 {
					t.Errorf("duplicates alone are not problems: %v", p)
				}
			},
		},
		{
			name: "a curated record the ledger does not know",
			mutate: func(s *synthetic) {
				s.curated = append(s.curated, Curated{Shard: "c-0", SequenceNumber: "c9999", Data: enriched(999, "k9")},
					Curated{Shard: "c-0", SequenceNumber: "c9998", Data: []byte(`{"no_id":true}`)})
			},
			check: func(t *testing.T, r *Report) {
				if len(r.Unknown) != 2 {
					t.Errorf("unknown = %v, want 2", r.Unknown)
				}
			},
		},
		{
			name: "a quarantine line the ledger does not know",
			mutate: func(s *synthetic) {
				s.quar = append(s.quar, quarantine.Record{Payload: []byte("x"), Stream: "raw", Shard: "shard-1", SequenceNumber: "9001"})
			},
			check: func(t *testing.T, r *Report) {
				if len(r.Unknown) != 1 || !strings.Contains(r.Unknown[0], "9001") {
					t.Errorf("unknown = %v", r.Unknown)
				}
			},
		},
		{
			name:   "quarantined bytes differ from the bytes put",
			mutate: func(s *synthetic) { s.quar[0].Payload = []byte(`{"a":1}`) },
			check: func(t *testing.T, r *Report) {
				if len(r.Corrupt) != 1 {
					t.Errorf("corrupt = %v, want 1", r.Corrupt)
				}
			},
		},
		{
			name:   "a hostile record quarantined without its decode reason",
			mutate: func(s *synthetic) { s.quar[0].Failures[0].Value = "invalid_json" },
			check: func(t *testing.T, r *Report) {
				if len(r.WrongVerdict) != 1 || !strings.Contains(r.WrongVerdict[0], "expected decode failure duplicate_key") {
					t.Errorf("wrong verdict = %v", r.WrongVerdict)
				}
			},
		},
		{
			name: "a record expected in quarantine is curated",
			mutate: func(s *synthetic) {
				s.quar = nil
				s.curated = append(s.curated, Curated{Shard: "c-1", SequenceNumber: "x", Data: []byte(`{"event_id":"h-1"}`)})
				s.entries[len(s.entries)-1].EventID = "h-1"
			},
			check: func(t *testing.T, r *Report) {
				if len(r.WrongVerdict) != 1 || !strings.Contains(r.WrongVerdict[0], "found on the curated stream") {
					t.Errorf("wrong verdict = %v", r.WrongVerdict)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSynthetic(10)
			s.quar[0].Failures = append([]quarantine.Failure(nil), s.quar[0].Failures...)
			tt.mutate(s)
			r := Audit(s.entries, s.curated, s.quar, Options{})
			tt.check(t, r)
			if len(r.Problems(0)) == 0 && tt.name != "duplicates are counted per source shard" {
				t.Errorf("Problems() is empty for %q: %s", tt.name, r.Summary())
			}
		})
	}
}

func TestCheckOrder(t *testing.T) {
	s := newSynthetic(9)
	// Swap two records of key k0 (indexes 0, 3, 6): 3 now comes before 0.
	s.curated[0], s.curated[3] = s.curated[3], s.curated[0]
	got := CheckOrder(s.entries, s.curated, Options{})
	if len(got) != 1 || !strings.Contains(got[0], "key k0") {
		t.Fatalf("CheckOrder = %v, want one violation for k0", got)
	}

	// A replay (duplicates of records already seen) does not break the order of first copies.
	s = newSynthetic(9)
	s.curated = append(s.curated, s.curated[0], s.curated[3])
	if got := CheckOrder(s.entries, s.curated, Options{}); len(got) != 0 {
		t.Fatalf("CheckOrder with a replay = %v, want none", got)
	}

	// Different curated shards are not ordered against each other.
	s = newSynthetic(9)
	s.curated[3].Shard = "c-1"
	s.curated[0], s.curated[3] = s.curated[3], s.curated[0]
	if got := CheckOrder(s.entries, s.curated, Options{}); len(got) != 0 {
		t.Fatalf("CheckOrder across curated shards = %v, want none", got)
	}
}

// flakyKinesis acknowledges entries like Kinesis, failing every entry whose running count
// is a multiple of failEvery (once per entry).
type flakyKinesis struct {
	calls, seq, seen int
	failEvery        int
	failed           map[string]bool
	got              [][]byte
}

func (f *flakyKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.calls++
	out := &kinesis.PutRecordsOutput{}
	for _, e := range in.Records {
		f.seen++
		if f.failEvery > 0 && f.seen%f.failEvery == 0 && !f.failed[string(e.Data)] {
			f.failed[string(e.Data)] = true
			out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException")})
			out.FailedRecordCount = aws.Int32(aws.ToInt32(out.FailedRecordCount) + 1)
			continue
		}
		f.seq++
		f.got = append(f.got, e.Data)
		out.Records = append(out.Records, ktypes.PutRecordsResultEntry{ShardId: aws.String("shardId-000000000000"), SequenceNumber: aws.String(fmt.Sprintf("%06d", f.seq))})
	}
	return out, nil
}

func TestProducerRecordsOnlyAcknowledgedRecordsAndRetriesFailedOnes(t *testing.T) {
	fk := &flakyKinesis{failEvery: 7, failed: map[string]bool{}}
	var l Ledger
	p := NewProducer(fk, "raw", &l)
	var msgs []Message
	for i := 0; i < 1200; i++ {
		msgs = append(msgs, Message{Data: event(i, "k"), PartitionKey: "k", Kind: "good", Expect: gen.OutcomePassed})
	}
	msgs = append(msgs, Message{Data: make([]byte, producer.MaxRecordBytes), PartitionKey: "k", Kind: "too_large"})
	if err := p.Put(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if p.Refused != 1 {
		t.Errorf("Refused = %d, want 1 (the record over 1 MiB with its key)", p.Refused)
	}
	entries := l.Entries()
	if len(entries) != 1200 || len(fk.got) != 1200 {
		t.Fatalf("ledger has %d entries, stream got %d records; want 1200 each", len(entries), len(fk.got))
	}
	if len(fk.failed) == 0 || fk.calls <= 3 {
		t.Fatalf("the fake failed %d entries in %d calls: the retry path was not exercised", len(fk.failed), fk.calls)
	}
	ids := map[string]bool{}
	for i, e := range entries {
		if e.Index != i || e.Hash != HashPayload(fk.got[i]) || e.Shard != "shardId-000000000000" || e.SequenceNumber != fmt.Sprintf("%06d", i+1) {
			t.Fatalf("entry %d = %+v does not match what the stream acknowledged", i, e)
		}
		ids[e.EventID] = true
	}
	if len(ids) != 1200 {
		t.Fatalf("%d distinct event ids, want 1200", len(ids))
	}
}

func TestEventID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"event_id":"abc","x":1}`, "abc"},
		{`  {"x":{"event_id":"nested"},"event_id":"top"}`, "top"},
		{`{"event_id":42}`, ""},
		{`[{"event_id":"a"}]`, ""},
		{"\xef\xbb\xbf{\"event_id\":\"a\"}", ""},
		{`{"event_id":"a"`, ""},
		{``, ""},
	} {
		if got := EventID([]byte(tt.in)); got != tt.want {
			t.Errorf("EventID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTable(t *testing.T) {
	got := Table([]Row{
		{Scenario: "crash", In: 1500, Curated: 1200, Quarantined: 300, Missing: 0, Duplicates: 42, Recover: 2345 * 1e6, Note: "10 kills"},
		{Scenario: "poison", In: 80, Curated: 0, Quarantined: 80},
	})
	want := `scenario  records in  curated  quarantined  missing  duplicates  time to recover  notes
--------  ----------  -------  -----------  -------  ----------  ---------------  --------
crash           1500     1200          300        0          42             2.3s  10 kills
poison            80        0           80        0           0                -
`
	if got != want {
		t.Fatalf("Table:\n%s\nwant:\n%s", got, want)
	}
}
