package benchmarks

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"text/tabwriter"
	"time"
)

// Targets of issue 3 item 10.
const (
	TargetEventsPerCore = 40000 // events/s on one core, full path
	TargetNaiveRatio    = 3.0   // times the naive way
)

// EngineConfig configures EngineReport.
type EngineConfig struct {
	// Contracts is the examples directory ("" finds the main module's examples/contracts).
	Contracts string
	// Records in the corpus (default 5000), judged once per engine per round.
	Records int
	// Rounds of measurement (default 7). Each round measures every engine once, in rotating
	// order, so that the engines share the machine's state of the moment and every round
	// yields its own ratios.
	Rounds      int
	Seed        uint64
	BadFraction float64
	// CPUProfile, when set, receives a CPU profile of meshgate judging the corpus for
	// ProfileFor (default 5s) after the rounds.
	CPUProfile string
	ProfileFor time.Duration
}

// EngineResult holds the figures EngineReport printed.
type EngineResult struct {
	Engines []string
	Samples map[string][]Sample
	// Per-round ratios.
	VsNaive, VsCeiling []float64
	MeanBytes          float64
	Rules              int
}

// EngineReport measures meshgate, the naive way and the hand-written ceiling on the same
// corpus at GOMAXPROCS=1 (it sets it), prints a table to w and returns the figures.
func EngineReport(w io.Writer, cfg EngineConfig) (*EngineResult, error) {
	if cfg.Records <= 0 {
		cfg.Records = 5000
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 7
	}
	if cfg.ProfileFor <= 0 {
		cfg.ProfileFor = 5 * time.Second
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)

	c, err := Orders(cfg.Contracts)
	if err != nil {
		return nil, err
	}
	recs, err := Corpus(cfg.Records, cfg.Seed, cfg.BadFraction)
	if err != nil {
		return nil, err
	}
	engines := Engines(c)
	judges := make([]Judge, len(engines))
	res := &EngineResult{Samples: map[string][]Sample{}, Rules: len(c.RuleNames()),
		MeanBytes: float64(Bytes(recs)) / float64(len(recs))}
	for i, e := range engines {
		if judges[i], err = e.New(Now); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		res.Engines = append(res.Engines, e.Name)
		JudgeAll(judges[i], recs) // warm up
	}
	for r := 0; r < cfg.Rounds; r++ {
		round := map[string]Sample{}
		for k := range engines {
			i := (k + r) % len(engines)
			s := Measure(len(recs), func() { JudgeAll(judges[i], recs) })
			round[engines[i].Name] = s
			res.Samples[engines[i].Name] = append(res.Samples[engines[i].Name], s)
		}
		m := round["meshgate"]
		res.VsNaive = append(res.VsNaive, round["naive"].CPUNsPerEvent()/m.CPUNsPerEvent())
		res.VsCeiling = append(res.VsCeiling, m.CPUNsPerEvent()/round["ceiling"].CPUNsPerEvent())
	}
	if cfg.CPUProfile != "" {
		if err := profile(cfg.CPUProfile, cfg.ProfileFor, judges[0], recs); err != nil {
			return nil, err
		}
	}
	res.print(w, cfg)
	return res, nil
}

func profile(path string, d time.Duration, j Judge, recs [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	for end := time.Now().Add(d); time.Now().Before(end); {
		JudgeAll(j, recs)
	}
	pprof.StopCPUProfile()
	return f.Close()
}

func (res *EngineResult) print(w io.Writer, cfg EngineConfig) {
	fmt.Fprintf(w, "engine: orders contract + envelope policy (%d rules, 5 enrichment steps), %d records of %.0f B mean, %.0f%% bad, GOMAXPROCS=1, %d rounds\n",
		res.Rules, cfg.Records, res.MeanBytes, 100*cfg.BadFraction, cfg.Rounds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tevents/s per core (CPU)\tns/event (CPU)\tevents/s (wall)\tallocs/event\tB/event\t")
	for _, name := range res.Engines {
		ss := res.Samples[name]
		var perCore, ns, wall, allocs, bytes []float64
		for _, s := range ss {
			perCore = append(perCore, s.PerCPUSecond())
			ns = append(ns, s.CPUNsPerEvent())
			wall = append(wall, s.PerSecond())
			allocs = append(allocs, s.AllocsPerEvent())
			bytes = append(bytes, s.BytesPerEvent())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%.0f\t\n", name, Summarize(perCore).Format(0), Summarize(ns).Format(0),
			Summarize(wall).Format(0), Summarize(allocs).Median, Summarize(bytes).Median)
	}
	tw.Flush()
	vn, vc := Summarize(res.VsNaive), Summarize(res.VsCeiling)
	perCore := res.MedianPerCore("meshgate")
	fmt.Fprintf(w, "meshgate vs naive:   %sx faster (per-round ratio of CPU ns/event, median (min..max))\n", vn.Format(2))
	fmt.Fprintf(w, "meshgate vs ceiling: %sx the ceiling's cost\n", vc.Format(2))
	fmt.Fprintf(w, "target >= %d events/s per core: %s (%.0f)\n", TargetEventsPerCore, verdict(perCore >= TargetEventsPerCore), perCore)
	fmt.Fprintf(w, "target >= %.0fx naive: %s (%.2fx)\n", TargetNaiveRatio, verdict(vn.Median >= TargetNaiveRatio), vn.Median)
}

// MedianPerCore is the median CPU-time rate of one engine.
func (res *EngineResult) MedianPerCore(name string) float64 {
	var xs []float64
	for _, s := range res.Samples[name] {
		xs = append(xs, s.PerCPUSecond())
	}
	return Summarize(xs).Median
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
