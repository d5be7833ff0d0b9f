package benchmarks

import (
	"time"

	"github.com/meshgate/meshgate/rules"
)

// Judge judges one record and returns the outcome and the enriched output (nil when
// quarantined). A Judge is not safe for concurrent use: make one per goroutine.
type Judge func(data []byte) (rules.Outcome, []byte)

// Engine names a way of judging records and makes Judges for it.
type Engine struct {
	Name string
	// New returns a fresh Judge (its own scratch state), judging as of now.
	New func(now time.Time) (Judge, error)
}

// Engines are meshgate, the naive way and the hand-written ceiling, all judging with c.
func Engines(c *rules.Contract) []Engine {
	return []Engine{
		{Name: "meshgate", New: func(now time.Time) (Judge, error) {
			e := rules.NewEvaluator()
			return func(data []byte) (rules.Outcome, []byte) {
				v := e.Judge(c, rules.Input{Data: data, Now: now})
				return v.Outcome, v.Output
			}, nil
		}},
		{Name: "naive", New: func(now time.Time) (Judge, error) {
			n, err := NewNaive(c, Salt)
			if err != nil {
				return nil, err
			}
			return func(data []byte) (rules.Outcome, []byte) {
				r, err := n.Judge(data, now)
				if err != nil {
					return rules.Quarantined, nil
				}
				return r.Outcome, r.Output
			}, nil
		}},
		{Name: "ceiling", New: func(now time.Time) (Judge, error) {
			cl, err := NewCeiling(c, Salt)
			if err != nil {
				return nil, err
			}
			return func(data []byte) (rules.Outcome, []byte) {
				r := cl.Judge(data, now)
				return r.Outcome, r.Output
			}, nil
		}},
	}
}

// JudgeAll judges every record once and returns the number of output bytes (so that the
// work cannot be optimised away).
func JudgeAll(j Judge, recs [][]byte) int {
	n := 0
	for _, r := range recs {
		_, out := j(r)
		n += len(out)
	}
	return n
}
