package rules

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/meshgate/meshgate/quarantine"
)

// CheckConfig configures Check.
type CheckConfig struct {
	// Contract judges every record.
	Contract *Contract
	// Good receives the output of every passed or warned record, one per line, in input
	// order. Nil discards them.
	Good io.Writer
	// Quarantine receives a quarantine.Record per quarantined record as NDJSON, in input
	// order. Nil discards them.
	Quarantine io.Writer
	// Stream is recorded as the source stream in quarantine records; empty means the
	// contract's first source.
	Stream string
	// Workers is the number of parallel evaluators; 0 means runtime.GOMAXPROCS(0). A
	// contract with unique rules is judged by one evaluator, in input order, so that the
	// later occurrence of a key is the one that fails, as on the stream.
	Workers int
	// Now returns the judging time; nil means time.Now. It is read once per chunk of records.
	Now func() time.Time
}

// Check limits.
const (
	// checkChunk is the number of records a worker judges at a time.
	checkChunk = 256
	// maxCheckLine is the longest input line kept whole; longer lines are truncated to it
	// (they are far over the decoder's 1 MiB limit and quarantined as too_large anyway).
	maxCheckLine = 8 << 20
	// CheckWorker names the worker in the quarantine records Check writes.
	CheckWorker = "meshgate-check"
)

// RuleCount is how often one rule failed.
type RuleCount struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Failures int      `json:"failures"`
	// Errors counts the failures that were runtime errors of the expression.
	Errors int `json:"errors,omitempty"`
}

// Summary counts what Check did.
type Summary struct {
	Domain       string      `json:"domain"`
	Version      string      `json:"version"`
	ContractHash string      `json:"contractHash"`
	Events       int         `json:"events"`
	Passed       int         `json:"passed"`
	Warned       int         `json:"warned"`
	Quarantined  int         `json:"quarantined"`
	Rules        []RuleCount `json:"rules"`
	// Decode counts decode failures by reason.
	Decode map[string]int `json:"decode"`

	rules map[string]*RuleCount
}

func newSummary(c *Contract) *Summary {
	return &Summary{Domain: c.Domain, Version: c.Version, ContractHash: c.Hash, Decode: map[string]int{}, rules: map[string]*RuleCount{}}
}

func (s *Summary) add(v *Verdict) {
	s.Events++
	switch v.Outcome {
	case Passed:
		s.Passed++
	case Warned:
		s.Warned++
	default:
		s.Quarantined++
	}
	if v.Decode != nil {
		s.Decode[v.Decode.Reason]++
	}
	for _, vi := range v.Violations {
		rc, ok := s.rules[vi.Rule]
		if !ok {
			rc = &RuleCount{Rule: vi.Rule, Severity: vi.Severity}
			s.rules[vi.Rule] = rc
		}
		rc.Failures++
		if vi.Error != "" {
			rc.Errors++
		}
	}
}

func (s *Summary) merge(o *Summary) {
	s.Events += o.Events
	s.Passed += o.Passed
	s.Warned += o.Warned
	s.Quarantined += o.Quarantined
	for k, n := range o.Decode {
		s.Decode[k] += n
	}
	for k, rc := range o.rules {
		if mine, ok := s.rules[k]; ok {
			mine.Failures += rc.Failures
			mine.Errors += rc.Errors
		} else {
			cp := *rc
			s.rules[k] = &cp
		}
	}
}

// finish fills Rules: every rule of the contract in evaluation order (zero counts included),
// then failures of non-rules ("enrich", "internal").
func (s *Summary) finish(c *Contract) {
	s.Rules = s.Rules[:0]
	seen := map[string]bool{}
	for _, r := range c.rules {
		rc := RuleCount{Rule: r.name, Severity: r.severity}
		if got, ok := s.rules[r.name]; ok {
			rc = *got
		}
		s.Rules = append(s.Rules, rc)
		seen[r.name] = true
	}
	for _, k := range sortedKeys(s.rules) {
		if !seen[k] {
			s.Rules = append(s.Rules, *s.rules[k])
		}
	}
}

// WriteText prints the summary for humans.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "contract\t%s %s (%s)\n", s.Domain, s.Version, s.ContractHash)
	pct := func(n int) string {
		if s.Events == 0 {
			return ""
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(s.Events))
	}
	fmt.Fprintf(tw, "events\t%d\t\n", s.Events)
	fmt.Fprintf(tw, "passed\t%d\t%s\n", s.Passed, pct(s.Passed))
	fmt.Fprintf(tw, "warned\t%d\t%s\n", s.Warned, pct(s.Warned))
	fmt.Fprintf(tw, "quarantined\t%d\t%s\n", s.Quarantined, pct(s.Quarantined))
	fmt.Fprintln(tw, "\nrule\tseverity\tfailures\terrors")
	for _, r := range s.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", r.Rule, r.Severity, r.Failures, r.Errors)
	}
	if len(s.Decode) > 0 {
		fmt.Fprintln(tw, "\ndecode failure\tcount\t")
		for _, k := range sortedKeys(s.Decode) {
			fmt.Fprintf(tw, "%s\t%d\t\n", k, s.Decode[k])
		}
	}
	return tw.Flush()
}

type checkChunkJob struct {
	seq   int
	lines [][]byte
	nums  []int // 1-based input line number of each record
	buf   []byte
	// results
	good  bytes.Buffer
	quar  bytes.Buffer
	sum   *Summary
	err   error
	ready chan struct{}
}

// Check judges every line of in (NDJSON: one record per line) with cfg.Contract, exactly as
// the worker does, on cfg.Workers goroutines (one Evaluator each), and writes good events and
// quarantine records in input order. Zero-length lines are skipped; every other line,
// whitespace-only included, is a record. It returns the summary, or an error when reading
// or writing fails or ctx is cancelled.
func Check(ctx context.Context, in io.Reader, cfg CheckConfig) (*Summary, error) {
	c := cfg.Contract
	if c == nil {
		return nil, errors.New("check: no contract")
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if c.HasUniqueRules() {
		// Which occurrence of a key is the duplicate depends on the judging order: one
		// evaluator judges the lines in input order, so the answer is the file's.
		workers = 1
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	stream := cfg.Stream
	if stream == "" && len(c.Sources) > 0 {
		stream = c.Sources[0]
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Bounded pipeline: at most 2*workers chunks in flight between reader and writer.
	jobs := make(chan *checkChunkJob, workers)
	order := make(chan *checkChunkJob, 2*workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := NewEvaluator()
			for j := range jobs {
				j.sum = newSummary(c)
				j.err = judgeChunk(e, c, j, stream, now())
				close(j.ready)
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(order)
		defer close(jobs)
		readErr <- readChunks(ctx, in, func(j *checkChunkJob) bool {
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- j:
				return true
			case <-ctx.Done():
				close(j.ready)
				return false
			}
		})
	}()

	total := newSummary(c)
	var werr error
	for j := range order {
		<-j.ready
		if werr != nil || j.sum == nil {
			continue
		}
		if j.err != nil {
			werr = j.err
			cancel()
			continue
		}
		total.merge(j.sum)
		if cfg.Good != nil && j.good.Len() > 0 {
			if _, err := cfg.Good.Write(j.good.Bytes()); err != nil {
				werr = fmt.Errorf("write good events: %w", err)
				cancel()
				continue
			}
		}
		if cfg.Quarantine != nil && j.quar.Len() > 0 {
			if _, err := cfg.Quarantine.Write(j.quar.Bytes()); err != nil {
				werr = fmt.Errorf("write quarantine records: %w", err)
				cancel()
			}
		}
	}
	wg.Wait()
	rerr := <-readErr
	switch {
	case werr != nil:
		return nil, werr
	case rerr != nil:
		return nil, rerr
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	total.finish(c)
	return total, nil
}

// readChunks splits in into chunks of lines and hands each to emit.
func readChunks(ctx context.Context, in io.Reader, emit func(*checkChunkJob) bool) error {
	r := bufio.NewReaderSize(in, 256<<10)
	seq, line := 0, 0
	var j *checkChunkJob
	flush := func() bool {
		if j == nil || len(j.lines) == 0 {
			return true
		}
		ok := emit(j)
		j = nil
		return ok
	}
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := readLine(r)
		if len(rec) > 0 || (err == nil) {
			line++
			if len(rec) > 0 {
				if j == nil {
					j = &checkChunkJob{seq: seq, ready: make(chan struct{})}
					seq++
				}
				start := len(j.buf)
				j.buf = append(j.buf, rec...)
				j.lines = append(j.lines, j.buf[start:len(j.buf):len(j.buf)])
				j.nums = append(j.nums, line)
				if len(j.lines) == checkChunk || len(j.buf) > 4<<20 {
					if !flush() {
						return ctx.Err()
					}
				}
			}
		}
		if err == io.EOF {
			if !flush() {
				return ctx.Err()
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
	}
}

// readLine returns the next line without its '\n' (truncated to maxCheckLine) and io.EOF
// with the last, unterminated line.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) <= maxCheckLine {
			line = append(line, frag...)
		} else if len(line) < maxCheckLine {
			line = append(line, frag[:maxCheckLine-len(line)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		}
		return line, err
	}
}

// judgeChunk judges one chunk and encodes its outputs.
func judgeChunk(e *Evaluator, c *Contract, j *checkChunkJob, stream string, now time.Time) error {
	var recs []quarantine.Record
	for i, data := range j.lines {
		num := strconv.Itoa(j.nums[i])
		v := e.Judge(c, Input{Data: data, PartitionKey: "line-" + num, Now: now})
		j.sum.add(&v)
		if v.Outcome != Quarantined {
			j.good.Write(v.Output)
			j.good.WriteByte('\n')
			continue
		}
		recs = append(recs, QuarantineRecord(c, &v, data, Provenance{
			Stream: stream, SequenceNumber: num, ArrivalTime: now, Worker: CheckWorker, QuarantinedAt: now,
		}))
	}
	if len(recs) > 0 {
		if err := quarantine.EncodeNDJSON(&j.quar, recs); err != nil {
			return err
		}
	}
	return nil
}

// Provenance says where a quarantined record came from.
type Provenance struct {
	Stream         string
	Shard          string
	SequenceNumber string
	SubSequence    int64
	ArrivalTime    time.Time
	Worker         string
	QuarantinedAt  time.Time
}

// QuarantineRecord builds the quarantine record of a quarantined verdict: the exact payload,
// the reason (decode or rules), every failure, the contract and the provenance.
func QuarantineRecord(c *Contract, v *Verdict, payload []byte, p Provenance) quarantine.Record {
	rec := quarantine.Record{
		Payload:         append([]byte(nil), payload...),
		Reason:          quarantine.ReasonRules,
		Domain:          c.Domain,
		Contract:        c.Domain,
		ContractVersion: c.Version,
		Stream:          p.Stream,
		Shard:           p.Shard,
		SequenceNumber:  p.SequenceNumber,
		SubSequence:     p.SubSequence,
		PartitionKey:    v.PartitionKey,
		ArrivalTime:     p.ArrivalTime,
		Worker:          p.Worker,
		QuarantinedAt:   p.QuarantinedAt,
	}
	if v.Decode != nil {
		rec.Reason = quarantine.ReasonDecode
		rec.Failures = []quarantine.Failure{{Rule: "decode", Severity: string(SeverityError), Message: v.Decode.Reason, Error: v.Decode.Detail}}
		return rec
	}
	rec.Failures = make([]quarantine.Failure, 0, len(v.Violations))
	for _, vi := range v.Violations {
		rec.Failures = append(rec.Failures, quarantine.Failure{Rule: vi.Rule, Severity: string(vi.Severity), Message: vi.Message, Value: vi.Value, Error: vi.Error})
	}
	return rec
}
