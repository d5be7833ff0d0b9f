package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// FileConfig configures RunFile.
type FileConfig struct {
	// Contract supplies rule severities and messages and the quarantine record's contract.
	Contract *rules.Contract
	// New makes one judge per worker goroutine.
	New func() func(data []byte) Result
	// Good and Quarantine receive the outputs (nil discards), in input order.
	Good, Quarantine io.Writer
	// Workers defaults to GOMAXPROCS.
	Workers int
	// Now is the judging time recorded in quarantine records.
	Now time.Time
	// Worker names the engine in quarantine records.
	Worker string
}

// FileSummary is the part of `meshgate check --json`'s summary that the comparisons read.
type FileSummary struct {
	Events      int               `json:"events"`
	Passed      int               `json:"passed"`
	Warned      int               `json:"warned"`
	Quarantined int               `json:"quarantined"`
	Rules       []rules.RuleCount `json:"rules"`
	Decode      map[string]int    `json:"decode"`
}

type fileChunk struct {
	lines      [][]byte
	nums       []int // 1-based input line number of each line
	good, quar bytes.Buffer
	counts     map[string]int
	outcomes   [3]int
	done       chan struct{}
}

// RunFile judges every non-empty line of in the way `meshgate check` does — chunks of 256
// lines judged on Workers goroutines, outputs written in input order, quarantine records in
// the quarantine package's format — with the judges cfg.New makes.
func RunFile(ctx context.Context, in io.Reader, cfg FileConfig) (*FileSummary, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	info := map[string]rules.RuleInfo{}
	for _, r := range cfg.Contract.Rules() {
		info[r.Name] = r
	}
	jobs := make(chan *fileChunk, workers)
	order := make(chan *fileChunk, 2*workers)
	for i := 0; i < workers; i++ {
		go func() {
			judge := cfg.New()
			for ch := range jobs {
				judgeChunk(judge, ch, cfg, info)
				close(ch.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(jobs)
		defer close(order)
		r := bufio.NewReaderSize(in, 256<<10)
		line := 0
		ch := &fileChunk{done: make(chan struct{})}
		flush := func() {
			if len(ch.lines) > 0 {
				order <- ch
				jobs <- ch
			}
			ch = &fileChunk{done: make(chan struct{})}
		}
		for ctx.Err() == nil {
			b, err := r.ReadBytes('\n')
			if len(b) > 0 {
				line++
				if b = bytes.TrimSuffix(b, []byte("\n")); len(b) > 0 {
					ch.lines = append(ch.lines, b)
					ch.nums = append(ch.nums, line)
				}
				if len(ch.lines) == 256 {
					flush()
				}
			}
			if err == io.EOF {
				flush()
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- err
				return
			}
		}
		readErr <- ctx.Err()
	}()

	sum := &FileSummary{Decode: map[string]int{}}
	counts := map[string]int{}
	var werr error
	for ch := range order {
		<-ch.done
		sum.Passed += ch.outcomes[rules.Passed]
		sum.Warned += ch.outcomes[rules.Warned]
		sum.Quarantined += ch.outcomes[rules.Quarantined]
		for k, n := range ch.counts {
			counts[k] += n
		}
		if werr == nil && cfg.Good != nil {
			_, werr = cfg.Good.Write(ch.good.Bytes())
		}
		if werr == nil && cfg.Quarantine != nil {
			_, werr = cfg.Quarantine.Write(ch.quar.Bytes())
		}
	}
	if err := <-readErr; err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	if werr != nil {
		return nil, fmt.Errorf("write output: %w", werr)
	}
	sum.Events = sum.Passed + sum.Warned + sum.Quarantined
	sum.Decode["decode"] = counts["decode"]
	delete(counts, "decode")
	for k, n := range counts {
		sum.Rules = append(sum.Rules, rules.RuleCount{Rule: k, Severity: info[k].Severity, Failures: n})
	}
	sort.Slice(sum.Rules, func(i, j int) bool { return sum.Rules[i].Rule < sum.Rules[j].Rule })
	return sum, nil
}

func judgeChunk(judge func([]byte) Result, ch *fileChunk, cfg FileConfig, info map[string]rules.RuleInfo) {
	ch.counts = map[string]int{}
	var recs []quarantine.Record
	for i, data := range ch.lines {
		res := judge(data)
		ch.outcomes[res.Outcome]++
		for _, r := range res.Failed {
			ch.counts[r]++
		}
		if res.Outcome != rules.Quarantined {
			ch.good.Write(res.Output)
			ch.good.WriteByte('\n')
			continue
		}
		v := rules.Verdict{Outcome: res.Outcome, PartitionKey: "line-" + strconv.Itoa(ch.nums[i])}
		if len(res.Failed) == 1 && res.Failed[0] == "decode" {
			v.Decode = &rules.DecodeFailure{Reason: "invalid", Detail: "the record does not decode"}
		}
		for _, r := range res.Failed {
			v.Violations = append(v.Violations, rules.Violation{Rule: r, Severity: info[r].Severity, Message: info[r].Message})
		}
		recs = append(recs, rules.QuarantineRecord(cfg.Contract, &v, data, rules.Provenance{
			Stream: "orders-raw", SequenceNumber: strconv.Itoa(ch.nums[i]), ArrivalTime: cfg.Now, Worker: cfg.Worker, QuarantinedAt: cfg.Now,
		}))
	}
	if len(recs) > 0 {
		_ = quarantine.EncodeNDJSON(&ch.quar, recs)
	}
}
