package reliability

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/quarantine"
)

// Curated is one record read back from a curated stream (audit.ReadStream).
type Curated = audit.StreamRecord

// Options tune an audit.
type Options struct {
	// ID links a curated record to its source record: it returns the ledger's EventID of
	// the record the curated data came from. Default: the curated payload's event_id
	// (enrichment keeps it).
	ID func(data []byte) string
}

// Report is the result of an audit: where every ledger entry ended up.
type Report struct {
	// Records is the number of ledger entries (records in).
	Records int
	// Curated and Quarantined count ledger entries found there (each entry once).
	Curated     int
	Quarantined int
	// Missing are entries found neither on the curated stream nor in quarantine.
	Missing []Entry
	// Both are entries found on the curated stream and in quarantine.
	Both []Entry
	// CuratedCopies and QuarantineCopies count copies beyond the first of an entry.
	CuratedCopies    int
	QuarantineCopies int
	// DuplicatesByShard counts the copies beyond the first by source shard.
	DuplicatesByShard map[string]int
	// Duplicated are the entries found more than once (curated or quarantined).
	Duplicated []Entry
	// Unknown describes curated records and quarantine lines that match no ledger entry.
	Unknown []string
	// Corrupt describes quarantine lines whose payload differs from the bytes put.
	Corrupt []string
	// WrongVerdict describes entries routed against their expectation (a good event in
	// quarantine, a bad one on the curated stream, a hostile one without its decode reason).
	WrongVerdict []string
	// Objects is the number of quarantine objects read (set by the caller, for the report).
	Objects int
}

// Duplicates is the number of copies beyond the first, curated and quarantine together.
func (r *Report) Duplicates() int { return r.CuratedCopies + r.QuarantineCopies }

// Problems lists every violation of the at-least-once promise or of the expectations —
// missing, both, unknown, corrupt, wrong verdict — at most max of each kind spelled out
// (0: all). Duplicates are not problems: scenarios bound them separately.
func (r *Report) Problems(max int) []string {
	var out []string
	add := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		shown := items
		if max > 0 && len(shown) > max {
			shown = shown[:max]
		}
		out = append(out, fmt.Sprintf("%d %s: %s", len(items), what, strings.Join(shown, "; ")))
	}
	add("missing", describe(r.Missing))
	add("both curated and quarantined", describe(r.Both))
	add("unknown", r.Unknown)
	add("corrupt", r.Corrupt)
	add("wrong verdict", r.WrongVerdict)
	return out
}

func describe(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// String names an entry in reports: shard/sequence (kind, event id).
func (e Entry) String() string {
	s := e.Shard + "/" + e.SequenceNumber + " (" + e.Kind
	if e.EventID != "" {
		s += ", event_id " + e.EventID
	}
	return s + ")"
}

// Summary is a one-line account of the report.
func (r *Report) Summary() string {
	return fmt.Sprintf("records in %d: curated %d, quarantined %d, missing %d, both %d, duplicates %d (curated %d, quarantine %d), unknown %d, corrupt %d, wrong verdict %d",
		r.Records, r.Curated, r.Quarantined, len(r.Missing), len(r.Both), r.Duplicates(), r.CuratedCopies, r.QuarantineCopies,
		len(r.Unknown), len(r.Corrupt), len(r.WrongVerdict))
}

type position struct {
	stream, shard, seq string
	sub                int64
}

// Audit accounts for every ledger entry. A curated record is linked to its entry by
// Options.ID (the event_id); a quarantine line by its provenance (stream, shard, sequence
// number), and its payload must hash to what was put. An entry is curated, quarantined,
// both, or missing; every copy beyond the first counts as a duplicate.
func Audit(entries []Entry, curated []Curated, quarantined []quarantine.Record, opts Options) *Report {
	if opts.ID == nil {
		opts.ID = EventID
	}
	r := &Report{Records: len(entries), DuplicatesByShard: map[string]int{}}
	byID := map[string][]int{}
	byPos := make(map[position]int, len(entries))
	for i, e := range entries {
		if e.EventID != "" {
			byID[e.EventID] = append(byID[e.EventID], i)
		}
		byPos[position{e.Stream, e.Shard, e.SequenceNumber, 0}] = i
	}
	curCount := make([]int, len(entries))
	qCount := make([]int, len(entries))
	firstQ := make([]*quarantine.Record, len(entries))

	for _, c := range curated {
		id := opts.ID(c.Data)
		idx := byID[id]
		switch {
		case id == "" || len(idx) == 0:
			r.Unknown = append(r.Unknown, fmt.Sprintf("curated %s/%s (event_id %q)", c.Shard, c.SequenceNumber, id))
			continue
		case len(idx) > 1:
			r.Unknown = append(r.Unknown, fmt.Sprintf("curated %s/%s: event_id %q names %d ledger entries", c.Shard, c.SequenceNumber, id, len(idx)))
			continue
		}
		curCount[idx[0]]++
	}
	for k := range quarantined {
		q := &quarantined[k]
		i, ok := byPos[position{q.Stream, q.Shard, q.SequenceNumber, q.SubSequence}]
		if !ok {
			r.Unknown = append(r.Unknown, fmt.Sprintf("quarantined %s/%s/%s#%d", q.Stream, q.Shard, q.SequenceNumber, q.SubSequence))
			continue
		}
		if HashPayload(q.Payload) != entries[i].Hash {
			r.Corrupt = append(r.Corrupt, fmt.Sprintf("%s: quarantined payload of %d bytes differs from the %d bytes put", entries[i], len(q.Payload), entries[i].Size))
		}
		qCount[i]++
		if firstQ[i] == nil {
			firstQ[i] = q
		}
	}

	for i, e := range entries {
		c, q := curCount[i], qCount[i]
		switch {
		case c > 0 && q > 0:
			r.Both = append(r.Both, e)
		case c == 0 && q == 0:
			r.Missing = append(r.Missing, e)
		}
		if c > 0 {
			r.Curated++
			r.CuratedCopies += c - 1
		}
		if q > 0 {
			r.Quarantined++
			r.QuarantineCopies += q - 1
		}
		if extra := max(c-1, 0) + max(q-1, 0); extra > 0 {
			r.DuplicatesByShard[e.Shard] += extra
			r.Duplicated = append(r.Duplicated, e)
		}
		if msg := verdictProblem(e, c > 0, firstQ[i]); msg != "" {
			r.WrongVerdict = append(r.WrongVerdict, e.String()+": "+msg)
		}
	}
	return r
}

// verdictProblem checks an entry's routing against its expectation; "" when it is met (or
// there is none, or the entry is missing — reported as such).
func verdictProblem(e Entry, onCurated bool, q *quarantine.Record) string {
	switch e.Expect {
	case gen.OutcomePassed, gen.OutcomeWarned:
		if q != nil {
			return fmt.Sprintf("expected %s, quarantined (%s: %s)", e.Expect, q.Reason, failureNames(q.Failures))
		}
	case gen.OutcomeQuarantined:
		if onCurated {
			return "expected quarantined, found on the curated stream"
		}
	}
	if e.Decode != "" && q != nil {
		if q.Reason != quarantine.ReasonDecode {
			return fmt.Sprintf("expected decode failure %s, quarantined for %s (%s)", e.Decode, q.Reason, failureNames(q.Failures))
		}
		for _, f := range q.Failures {
			if f.Rule == processor.FailureDecode && f.Value == e.Decode {
				return ""
			}
		}
		return fmt.Sprintf("expected decode failure %s, got %s", e.Decode, failureNames(q.Failures))
	}
	return ""
}

func failureNames(fs []quarantine.Failure) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Rule
		if f.Value != "" && f.Rule == processor.FailureDecode {
			names[i] += "=" + f.Value
		}
	}
	return strings.Join(names, ",")
}

// CheckOrder checks that the records of each partition key keep their source order on the
// curated stream: within a curated shard, the first copies of one key's records appear in
// the order Kinesis acknowledged them to the producer (Entry.Index). curated must be in
// shard order (as ReadCurated returns it). It returns one line per key out of order.
func CheckOrder(entries []Entry, curated []Curated, opts Options) []string {
	if opts.ID == nil {
		opts.ID = EventID
	}
	byID := map[string]int{}
	for i, e := range entries {
		if e.EventID != "" {
			byID[e.EventID] = i
		}
	}
	type group struct{ shard, key string }
	seen := make([]bool, len(entries))
	last := map[group]int{}
	bad := map[group]string{}
	for _, c := range curated {
		i, ok := byID[opts.ID(c.Data)]
		if !ok || seen[i] {
			continue
		}
		seen[i] = true
		g := group{c.Shard, entries[i].PartitionKey}
		if prev, ok := last[g]; ok && entries[i].Index < entries[prev].Index {
			if _, already := bad[g]; !already {
				bad[g] = fmt.Sprintf("key %s on curated %s: %s (put #%d) after %s (put #%d)",
					g.key, g.shard, entries[i], entries[i].Index, entries[prev], entries[prev].Index)
			}
		}
		last[g] = i
	}
	out := make([]string, 0, len(bad))
	for _, s := range bad {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Read reads what the worker wrote: every record of the curated stream and every record of
// every quarantine object under prefix in bucket (with the number of objects).
func Read(ctx context.Context, kin audit.KinesisAPI, s3c audit.S3API, curatedStream, bucket, prefix string) ([]Curated, []quarantine.Record, int, error) {
	curated, err := audit.ReadStream(ctx, kin, curatedStream)
	if err != nil {
		return nil, nil, 0, err
	}
	objs, err := audit.ReadQuarantine(ctx, s3c, bucket, prefix)
	if err != nil {
		return nil, nil, 0, err
	}
	var recs []quarantine.Record
	for _, o := range objs {
		recs = append(recs, o.Records...)
	}
	return curated, recs, len(objs), nil
}

// itoa is strconv.Itoa, short for tables.
func itoa(n int) string { return strconv.Itoa(n) }
